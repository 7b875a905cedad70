import { mirrorImages, noisyImages, type Batch, type Rng } from '@farmer/core';
import type { TrainConfig } from './train-config.js';

/** A training batch ready for the model: noisy NCHW values in [-1, 1] space and labels. */
export interface PreparedBatch {
  /** [B, C, H, W] row-major. */
  values: Float32Array;
  shape: [number, number, number, number];
  /** [B]; -1 marks a dropped (null) label. */
  labels: Int32Array;
  /** The Gaussian σ used (0 in uniform mode). */
  sigma: number;
}

/**
 * Applies label drop, then (with `hflip`) left–right mirroring, then training
 * noise, drawing from `rng` in that order; without `hflip` no mirror draws are
 * made, so older runs resume on the same stream.
 * Done once on the main thread, so the result does not depend on how the
 * batch is later split across workers.
 */
export function prepareBatch(batch: Batch, cfg: TrainConfig, rng: Rng, step: number, numClasses: number): PreparedBatch {
  const labels = Int32Array.from(batch.labels);
  for (let i = 0; i < labels.length; i++) if (numClasses === 0 || rng.next() < cfg.labelDrop) labels[i] = -1;
  const images = cfg.hflip ? mirrorImages(batch.images, Array.from(labels, () => rng.next() < 0.5)) : batch.images;
  const { values, sigma } = noisyImages(images, cfg.noise, rng, step, cfg.steps);
  return { values, shape: [images.count, images.channels, images.height, images.width], labels, sigma };
}

/** Rows [start, start + count) of a prepared batch, without copying. */
export function shardBatch(b: PreparedBatch, start: number, count: number): PreparedBatch {
  const [, c, h, w] = b.shape;
  const per = c * h * w;
  return { values: b.values.subarray(start * per, (start + count) * per), shape: [count, c, h, w], labels: b.labels.subarray(start, start + count), sigma: b.sigma };
}
