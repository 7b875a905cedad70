import { gatherExamples, type ImageDataset, type ParamStore, Rng, tf } from '@farmer/core';

/** Images [offset, offset + n) of a dataset. */
export function subset(ds: ImageDataset, n: number, offset = 0): ImageDataset {
  // gatherExamples does not range-check: past the end it would return blank images.
  if (offset + n > ds.images.count) throw new RangeError(`subset: ${offset}+${n} exceeds the ${ds.images.count} images of ${ds.name}`);
  const { images, labels } = gatherExamples(ds, Int32Array.from({ length: n }, (_, i) => offset + i));
  return { ...ds, images, labels };
}

/** Perturbs every weight of a store (proj_out excepted unless `projOut`), to make a non-trivial flow. */
export function randomize(store: ParamStore, seed: number, opts: { scale?: number; projOut?: number } = {}): void {
  const rng = new Rng(`randomize:${seed}`);
  for (const name of store.names()) {
    const isOut = /proj_out/.test(name);
    const std = isOut ? (opts.projOut ?? 0) : /norm\.weight/.test(name) ? 0.1 : (opts.scale ?? 0.1);
    if (std === 0) continue;
    const v = store.get(name);
    const t = tf.tidy(() => tf.add(v, rng.normalTensor(v.shape, std)));
    v.assign(t);
    t.dispose();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}
