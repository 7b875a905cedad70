import { gatherExamples, Rng, tf, type ImageDataset, type U8Images } from '@farmer/core';
import type { FarmerModel } from './farmer-model.js';
import { likelihoodBitsPerDim, type FarmerLikelihood } from './likelihood-interface.js';

/** The tfjs likelihood of a FarmerModel: `model.nllImages` in a tidy scope. */
export function tfLikelihood(model: FarmerModel): FarmerLikelihood {
  const c = model.config;
  return {
    config: c,
    runtime: 'tfjs',
    async nll(images, batch, labels) {
      const s = c.flow.imageSize;
      // One read-back of the four [B] pieces stacked [4, B].
      const stacked = tf.tidy(() => {
        const r = model.nllImages(tf.tensor4d(images, [batch, c.flow.inChannels, s, s]), labels);
        return tf.stack([r.nllPerDim, r.logpInformative, r.logpRedundant, r.logdet]);
      });
      const data = stacked.dataSync();
      stacked.dispose();
      const part = (k: number) => Float64Array.from(data.subarray(k * batch, (k + 1) * batch));
      return { nllPerDim: part(0), logpInformative: part(1), logpRedundant: part(2), logdet: part(3) };
    },
  };
}

/** The likelihood of anything that has one: a FarmerLikelihood (any runner with `nll`) as is, a FarmerModel through tfjs. */
export function likelihoodOf(m: FarmerModel | FarmerLikelihood | object): FarmerLikelihood | undefined {
  if ('flow' in m && 'ar' in m) return tfLikelihood(m as FarmerModel);
  return 'nll' in m && typeof (m as FarmerLikelihood).nll === 'function' ? (m as FarmerLikelihood) : undefined;
}

function asLikelihood(m: FarmerModel | FarmerLikelihood): FarmerLikelihood {
  return likelihoodOf(m)!;
}

/**
 * Bits/dim of each image [B] (docs/method.md §5.2 bits per dim) under uniform
 * dequantisation with noise from `rng`, on any runtime (see
 * `likelihoodBitsPerDim`); a FarmerModel runs through tfjs.
 */
export function imagesBitsPerDim(model: FarmerModel | FarmerLikelihood, images: U8Images, labels: ArrayLike<number> | null, rng: Rng): Promise<Float64Array> {
  return likelihoodBitsPerDim(asLikelihood(model), images, labels, rng);
}

export interface BpdResult {
  /** Mean bits/dim over the images. */
  bpd: number;
  /** Standard error of the mean. */
  stderr: number;
  images: number;
  /** Always 'uniform': bits/dim are exact only under uniform dequantisation (docs/method.md §2.2 uniform dequantisation). */
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
 * Test bits/dim on any runtime: one uniform dequantisation draw per pixel
 * (seeded), averaged per image; mean and standard error over images.
 */
export async function evaluateBpd(model: FarmerModel | FarmerLikelihood, ds: ImageDataset, options: EvaluateOptions = {}): Promise<BpdResult> {
  const lik = asLikelihood(model);
  const total = options.maxImages ? Math.min(options.maxImages, ds.images.count) : ds.images.count;
  const bs = options.batchSize ?? 100;
  const rng = new Rng(`eval:${options.seed ?? 0}`);
  const per: number[] = [];
  for (let start = 0; start < total; start += bs) {
    if (options.signal?.aborted) break;
    const idx = Int32Array.from({ length: Math.min(bs, total - start) }, (_, i) => start + i);
    const { images, labels } = gatherExamples(ds, idx);
    for (const v of await imagesBitsPerDim(lik, images, options.conditional === false ? null : labels, rng)) per.push(v);
    options.onProgress?.(Math.min(start + bs, total), total);
    await new Promise((r) => setImmediate(r));
  }
  const n = per.length;
  const mean = per.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(per.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  return { bpd: mean, stderr: sd / Math.sqrt(n), images: n, dequantization: 'uniform' };
}
