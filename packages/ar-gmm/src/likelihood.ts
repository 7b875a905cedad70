import { gatherExamples, Rng, tf, type ImageDataset, type U8Images } from '@farmer/core';
import { FarmerModel } from './farmer-model.js';
import { likelihoodBitsPerDim, overflowAsImpossible, type FarmerLikelihood } from './likelihood-interface.js';

/** The tfjs likelihood of a FarmerModel: `model.nllImages` (or its two halves) in a tidy scope, read back once. */
export function tfLikelihood(model: FarmerModel): FarmerLikelihood {
  const c = model.config;
  const { numTokens: N, tokenDim: d } = model.dims;
  const s = c.flow.imageSize;
  const image = (images: Float32Array, batch: number) => tf.tensor4d(images, [batch, c.flow.inChannels, s, s]);
  /** Rows of a stacked [k, B] tensor as float64 arrays, one read-back. */
  const readRows = (stacked: tf.Tensor, k: number, batch: number): Float64Array[] => {
    const data = stacked.dataSync();
    stacked.dispose();
    return Array.from({ length: k }, (_, r) => Float64Array.from(data.subarray(r * batch, (r + 1) * batch)));
  };
  return {
    config: c,
    runtime: 'tfjs',
    async nll(images, batch, labels) {
      const stacked = tf.tidy(() => {
        const r = model.nllImages(image(images, batch), labels);
        return tf.stack([r.nllPerDim, r.logpInformative, r.logpRedundant, r.logdet]);
      });
      const [nllPerDim, logpInformative, logpRedundant, logdet] = readRows(stacked, 4, batch);
      return { nllPerDim: nllPerDim.map((v) => -overflowAsImpossible(-v)), logpInformative, logpRedundant, logdet };
    },
    async flowForward(images, batch) {
      const [z, logdets] = tf.tidy(() => {
        const r = model.flow.forwardImages(image(images, batch));
        return [r.z, tf.stack(r.logdets, 1)];
      });
      try {
        return { z: (await z.data()) as Float32Array, logdets: (await logdets.data()) as Float32Array };
      } finally {
        z.dispose();
        logdets.dispose();
      }
    },
    async arLogLik(zAr, batch, labels) {
      const stacked = tf.tidy(() => {
        const r = model.arLogProb(tf.tensor3d(zAr, [batch, N, d]), labels);
        return tf.stack([r.logpInformative, r.logpRedundant]);
      });
      const [logpInformative, logpRedundant] = readRows(stacked, 2, batch);
      return { logpInformative, logpRedundant };
    },
  };
}

/** A FarmerModel's likelihood through tfjs; any other FarmerLikelihood as is. */
function asLikelihood(m: FarmerModel | FarmerLikelihood): FarmerLikelihood {
  return m instanceof FarmerModel ? tfLikelihood(m) : m;
}

/**
 * Bits/dim of each image [B] (docs/method.md §5.2 bits per dim) under uniform
 * dequantisation with noise from `rng`, on any runtime (see
 * `likelihoodBitsPerDim`); a FarmerModel runs through tfjs.
 */
export function imagesBitsPerDim(model: FarmerModel | FarmerLikelihood, images: U8Images, labels: ArrayLike<number> | null, rng: Rng): Promise<Float64Array> {
  return likelihoodBitsPerDim(asLikelihood(model), images, labels, rng);
}

/** Bits/dim of a set of images: mean, standard error and count (docs/method.md §5.2 bits per dim). */
export interface BpdResult {
  /** Mean bits/dim over the images. */
  bpd: number;
  /** Standard error of the mean. */
  stderr: number;
  images: number;
  /** Always 'uniform': bits/dim are exact only under uniform dequantisation (docs/method.md §2.2 uniform dequantisation). */
  dequantization: 'uniform';
}

/** Options of {@link evaluateBpd}. */
export interface EvaluateOptions {
  batchSize?: number;
  /** Seed of the dequantisation noise (same seed, same figure). */
  seed?: number;
  /** Evaluate only the first N images (0 = all). */
  maxImages?: number;
  /** Use the true labels (default) or the null label. */
  conditional?: boolean;
  /** Called after each batch with the images done and the total. */
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
