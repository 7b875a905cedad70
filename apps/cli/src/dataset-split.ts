import { modelImageOptions, type FarmerRunner } from '@farmer/ar-gmm';
import { gatherExamples, loadDataset, type ImageDataset } from '@farmer/core';

/**
 * A dataset split of the model's geometry and background, cut to `max` images (0: all)
 * evenly spaced over the split, since datasets may be sorted by class (the
 * built-in MNIST is).
 */
export async function loadSplit(spec: string, split: 'train' | 'test', runner: FarmerRunner, max = 0): Promise<ImageDataset> {
  const ds = await loadDataset(spec, { split, ...modelImageOptions(runner.config) });
  if (!max || max >= ds.images.count) return ds;
  return { ...ds, ...gatherExamples(ds, Int32Array.from({ length: max }, (_, j) => Math.floor((j * ds.images.count) / max))) };
}
