import type { Background } from '../background.js';
import { FarmerError } from '../errors.js';
import { loadCifar10Dataset } from './cifar10.js';
import type { DatasetSplit, ImageDataset } from './dataset.js';
import { loadEmojiDataset } from './emoji.js';
import { loadIdxDataset } from './idx.js';
import { loadImageFolderDataset } from './image-folder.js';
import { loadBuiltinMnist } from './mnist-builtin.js';

/** Options of {@link loadDataset}: the split, the size, channels and background of `folder:` images, where `emoji` looks for its packages. */
export interface LoadDatasetOptions {
  split?: DatasetSplit;
  /** For `folder:` specs: output side length (default 32). */
  imageSize?: number;
  /** For `folder:` specs: 1 or 3 channels (default 3). */
  channels?: 1 | 3;
  /** For `folder:` specs: the colour transparent pixels are composited on (default black). `emoji` always uses EMOJI_BACKGROUND (white). */
  background?: Background;
  /** For `emoji`: folders its two npm packages are resolved from (default: the process's cwd, then @farmer/core's location). */
  resolveFrom?: readonly string[];
}

/** One line naming every dataset spec {@link loadDataset} accepts, for help texts and errors. */
export const DATASET_SPEC_HELP = "mnist (built-in), emoji (npm packages emoji-datasource-google and -twitter), idx:DIR, cifar10:DIR or folder:DIR";

/**
 * Loads a dataset from a spec string: `mnist` (the built-in digits), `emoji`
 * (32×32 RGB emoji of two installed npm packages), `idx:DIR`, `cifar10:DIR`
 * or `folder:DIR`.
 */
export async function loadDataset(spec: string, options: LoadDatasetOptions = {}): Promise<ImageDataset> {
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new FarmerError('FARMER_E_BAD_INPUT', `split must be train or test, got ${split}`, { field: 'split' });
  if (spec === 'mnist') return loadBuiltinMnist(split);
  if (spec === 'emoji') return loadEmojiDataset(split, { resolveFrom: options.resolveFrom });
  const m = /^(idx|cifar10|folder):(.+)$/.exec(spec);
  if (!m) throw new FarmerError('FARMER_E_BAD_INPUT', `unknown dataset '${spec}'; use ${DATASET_SPEC_HELP}`, { field: 'data' });
  const [, kind, dir] = m;
  if (kind === 'idx') return loadIdxDataset(dir, split);
  if (kind === 'cifar10') return loadCifar10Dataset(dir, split);
  return loadImageFolderDataset(dir, split, { imageSize: options.imageSize ?? 32, channels: options.channels, background: options.background });
}
