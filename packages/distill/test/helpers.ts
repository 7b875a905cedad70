import { gatherExamples, type ImageDataset } from '@farmer/core';

/** Images [offset, offset + n) of a dataset. */
export function subset(ds: ImageDataset, n: number, offset = 0): ImageDataset {
  // gatherExamples does not range-check: past the end it would return blank images.
  if (offset + n > ds.images.count) throw new RangeError(`subset: ${offset}+${n} exceeds the ${ds.images.count} images of ${ds.name}`);
  const { images, labels } = gatherExamples(ds, Int32Array.from({ length: n }, (_, i) => offset + i));
  return { ...ds, images, labels };
}

export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}
