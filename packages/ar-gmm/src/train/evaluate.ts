import { bitsPerDim, gatherExamples, noisyImages, Rng, tf, type ImageDataset, type U8Images } from '@farmer/core';
import type { FarmerModel } from '../farmer-model.js';

export interface BpdResult {
  /** Mean bits/dim over the images. */
  bpd: number;
  /** Standard error of the mean. */
  stderr: number;
  images: number;
  /** Always 'uniform': bits/dim are exact only under uniform dequantisation (method doc §1). */
  dequantization: 'uniform';
}

export interface EvaluateOptions {
  batchSize?: number;
  /** Seed of the dequantisation noise (same seed, same figure). */
  seed?: number;
  /** Evaluate only the first N images (0 = all). */
  maxImages?: number;
  /** Use the true labels (default) or the null label. */
  conditional?: boolean;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * Bits/dim of each image [B] (method doc §4) under uniform dequantisation
 * with noise from `rng`: BPD = (NLL per dim + ln 128)/ln 2. Labels: a class per
 * image, or null for the null label.
 */
export function imagesBitsPerDim(model: FarmerModel, images: U8Images, labels: ArrayLike<number> | null, rng: Rng): Float64Array {
  const { values } = noisyImages(images, { mode: 'uniform' }, rng);
  const nll = tf.tidy(() => {
    const x = tf.tensor4d(values, [images.count, images.channels, images.height, images.width]);
    return model.nllImages(x, labels).nllPerDim.dataSync();
  });
  return Float64Array.from(nll, (v) => bitsPerDim(v));
}

/**
 * Test bits/dim: BPD = (NLL per dim + ln 128)/ln 2 under uniform
 * dequantisation x = 2(k + u)/256 − 1, one u per pixel, averaged per image.
 */
export async function evaluateBpd(model: FarmerModel, ds: ImageDataset, options: EvaluateOptions = {}): Promise<BpdResult> {
  const total = options.maxImages ? Math.min(options.maxImages, ds.images.count) : ds.images.count;
  const bs = options.batchSize ?? 100;
  const rng = new Rng(`eval:${options.seed ?? 0}`);
  const per: number[] = [];
  for (let start = 0; start < total; start += bs) {
    if (options.signal?.aborted) break;
    const idx = Int32Array.from({ length: Math.min(bs, total - start) }, (_, i) => start + i);
    const { images, labels } = gatherExamples(ds, idx);
    const nll = imagesBitsPerDim(model, images, options.conditional === false ? null : labels, rng);
    for (const v of nll) per.push(v);
    options.onProgress?.(Math.min(start + bs, total), total);
    await new Promise((r) => setImmediate(r));
  }
  const n = per.length;
  const mean = per.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(per.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  return { bpd: mean, stderr: sd / Math.sqrt(n), images: n, dequantization: 'uniform' };
}
