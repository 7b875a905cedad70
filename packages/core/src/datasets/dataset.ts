import { checkBackground, type Background } from '../background.js';
import { FarmerError } from '../errors.js';
import type { U8Images } from '../image.js';

/** A labelled image set held in memory as u8 HWC. */
export interface ImageDataset {
  /** Spec it came from, e.g. `mnist` or `idx:/data/fashion`. */
  name: string;
  split: DatasetSplit;
  images: U8Images;
  /** [count] class indices in [0, numClasses). */
  labels: Int32Array;
  numClasses: number;
  classNames: string[];
  /**
   * The colour transparent pixels were composited on
   * (docs/method.md §2.6 Transparency); absent = black (`backgroundOf`), as for idx, MNIST and
   * CIFAR-10, which have no alpha. A model trained on the set records it.
   */
  background?: Background;
}

/** Which split of a dataset to load. */
export type DatasetSplit = 'train' | 'test';

/** Checks that labels and images agree (and the background, when there is one); used by every loader. */
export function makeDataset(d: ImageDataset): ImageDataset {
  if (d.background !== undefined) checkBackground(d.background, `${d.name} background`);
  if (d.labels.length !== d.images.count) {
    throw new FarmerError('FARMER_E_CORRUPT', `${d.name}: ${d.images.count} images but ${d.labels.length} labels`, { file: d.name });
  }
  for (let i = 0; i < d.labels.length; i++) {
    if (d.labels[i] < 0 || d.labels[i] >= d.numClasses) throw new FarmerError('FARMER_E_CORRUPT', `${d.name}: label ${d.labels[i]} at index ${i} is outside [0, ${d.numClasses})`, { file: d.name });
  }
  return d;
}
