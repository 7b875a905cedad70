import { FarmerError } from '../errors.js';
import { type U8Images } from '../image.js';
import { Rng } from '../rng.js';
import type { ImageDataset } from './dataset.js';

/** Where a stream is: enough to resume the exact data order. */
export interface BatchStreamState {
  seed: number | string;
  epoch: number;
  cursor: number;
}

/** One batch: u8 images `[B, H, W, C]`, their labels `[B]`, dataset indices and epoch. */
export interface Batch {
  images: U8Images;
  labels: Int32Array;
  /** Dataset indices of the batch's images. */
  indices: Int32Array;
  epoch: number;
}

/** Options of {@link BatchStream}: batch size B, the seed of the epoch permutations, shuffling. */
export interface BatchStreamOptions {
  batchSize: number;
  seed: number | string;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
}

/**
 * Seeded, shuffled batches that run across epochs forever. Epoch e uses the
 * permutation drawn from Rng(`seed:epoch:e`), so `state()` (seed, epoch,
 * cursor) is all a resume needs. A batch never straddles epochs: the tail
 * that does not fill a batch is skipped.
 */
export class BatchStream {
  readonly batchSize: number;
  private readonly shuffle: boolean;
  private seed: number | string;
  private epoch = 0;
  private cursor = 0;
  private order: Int32Array;

  constructor(
    readonly dataset: ImageDataset,
    options: BatchStreamOptions,
  ) {
    const n = dataset.images.count;
    if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `batch size must be a positive integer, got ${options.batchSize}`, { field: 'batchSize' });
    }
    if (options.batchSize > n) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `batch size ${options.batchSize} exceeds the ${n} images of ${dataset.name} (${dataset.split})`, { field: 'batchSize' });
    }
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle !== false;
    this.seed = options.seed;
    this.order = this.orderFor(0);
  }

  private orderFor(epoch: number): Int32Array {
    const n = this.dataset.images.count;
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    return new Rng(`${this.seed}:epoch:${epoch}`).permutation(n);
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return Math.floor(this.dataset.images.count / this.batchSize);
  }

  /** Where the stream is (seed, epoch, cursor): all a resume needs. */
  state(): BatchStreamState {
    return { seed: this.seed, epoch: this.epoch, cursor: this.cursor };
  }

  /** Moves the stream to a saved {@link BatchStreamState} (from {@link BatchStream.state}); refuses a state outside the dataset. */
  setState(s: BatchStreamState): void {
    if (!Number.isInteger(s.epoch) || !Number.isInteger(s.cursor) || s.epoch < 0 || s.cursor < 0 || s.cursor > this.dataset.images.count) {
      throw new FarmerError('FARMER_E_CORRUPT', `invalid data-order state ${JSON.stringify(s)}`);
    }
    this.seed = s.seed;
    this.epoch = s.epoch;
    this.cursor = s.cursor;
    this.order = this.orderFor(s.epoch);
  }

  /** The next batch; starts the next epoch (a new permutation) when this one cannot fill a batch. */
  next(): Batch {
    if (this.cursor + this.batchSize > this.order.length) {
      this.epoch++;
      this.cursor = 0;
      this.order = this.orderFor(this.epoch);
    }
    const indices = this.order.slice(this.cursor, this.cursor + this.batchSize);
    this.cursor += this.batchSize;
    return { ...gatherExamples(this.dataset, indices), indices, epoch: this.epoch };
  }
}

/** Copies the images and labels at `indices` into a new batch. */
export function gatherExamples(ds: ImageDataset, indices: ArrayLike<number>): { images: U8Images; labels: Int32Array } {
  const { height, width, channels } = ds.images;
  const per = height * width * channels;
  const data = new Uint8Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!Number.isInteger(j) || j < 0 || j >= ds.images.count) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `index ${j} is outside the ${ds.images.count} images of ${ds.name} (${ds.split})`, { field: 'indices' });
    }
    data.set(ds.images.data.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = ds.labels[j];
  }
  return { images: { data, count: indices.length, height, width, channels }, labels };
}
