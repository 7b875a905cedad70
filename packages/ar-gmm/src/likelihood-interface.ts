import { bitsPerDim, noisyImages, type Rng, type U8Images } from '@farmer/core/browser';
import type { FarmerConfig } from './config.js';

/** Per-image pieces of the joint NLL (nats) on the host, each [B] (docs/method.md §5.1 joint loss). */
export interface HostNll {
  /** −(1/(N·d))·[Σ log G_i(z_i^I) + Σ log G_{N+1}(z_i^R) + Σ_t log|det_t|]. */
  nllPerDim: Float64Array;
  logpInformative: Float64Array;
  logpRedundant: Float64Array;
  /** Σ over blocks of log|det|. */
  logdet: Float64Array;
}

/**
 * The joint log-likelihood of one (image, label) pair split as docs/method.md §5.1 joint loss
 * sums it, nats [count] each: total = informative + redundant + logdet.
 */
export interface LikelihoodTerms {
  /** Σ_i log G_i(z_i^I | y): the informative channels' AR log-density (docs/method.md §4.1 channel split). */
  informative: Float64Array;
  /** Σ_i log G_{N+1}(z_i^R | y, z^I): the redundant channels' (0 when d_R = 0). */
  redundant: Float64Array;
  /** Σ_t log|det_t|: the AF's, which sees no label. */
  logdet: Float64Array;
  /** log p(x|y), the sum of the three (−∞ for an overflowed AF forward, docs/method.md §5.2 Bits per dim). */
  total: Float64Array;
}

/** The AR's two terms of the joint log-likelihood (nats), each [B]. */
export interface ArLogLik {
  /** Σ_i log G_i(z_i^I). */
  logpInformative: Float64Array;
  /** Σ_i log G_{N+1}(z_i^R) (0 when d_R = 0). */
  logpRedundant: Float64Array;
}

/** The AF forward of a batch: latents and per-block log-determinants. */
export interface FlowForwardOutputs {
  /** z [B, N, d], AF order (before the final permute). */
  z: Float32Array;
  /** log|det| per block [B, n]. */
  logdets: Float32Array;
}

/**
 * What likelihood code needs from a model, whatever runtime backs it: the
 * joint NLL of a batch of images, and its two halves (the AF forward, then
 * the AR terms under any labels) for callers that reuse one AF pass under
 * several labels (`classify`). `TfRunner` (tfjs) and `OrtRunner`
 * (onnxruntime, @farmer/onnx/runtime) implement it, so bits/dim and
 * classification run unchanged on either.
 */
export interface FarmerLikelihood {
  readonly config: FarmerConfig;
  /** Runtime name for reports ('tfjs', 'onnxruntime'). */
  readonly runtime: string;
  /** images: float32 NCHW [B, C, H, W] in [-1, 1] (already dequantised); labels: a class per image, -1, or null. */
  nll(images: Float32Array, batch: number, labels: ArrayLike<number> | null): Promise<HostNll>;
  /** AF forward of images float32 NCHW [B, C, H, W] in [-1, 1]; FARMER's AF takes no label (docs/method.md §5.1 joint loss). */
  flowForward(images: Float32Array, batch: number): Promise<FlowForwardOutputs>;
  /** The AR terms of the joint log-likelihood of latents zAr [B, N, d] (AR order, after the final permute) under labels [B] (a class or -1; null: the null label). */
  arLogLik(zAr: Float32Array, batch: number, labels: ArrayLike<number> | null): Promise<ArLogLik>;
}

/**
 * docs/method.md §5.2 Bits per dim: an image whose AF forward overflows float32 (an input far
 * from the training data can drive exp(α) past 3.4e38) has no finite density there. Its
 * log-likelihood is −∞, not the NaN that ∞ − ∞ leaves, so that bits/dim (+∞), OOD ranks and
 * class posteriors stay ordered.
 */
export function overflowAsImpossible(logLik: number): number {
  return Number.isNaN(logLik) ? -Infinity : logLik;
}

/**
 * Bits/dim of each image [B] (docs/method.md §5.2 bits per dim) under uniform
 * dequantisation with noise from `rng`: BPD = (NLL per dim + ln 128)/ln 2.
 * Labels: a class per image, or null for the null label. The dequantisation
 * is drawn here, so the same seed gives the same noise on every runtime.
 */
export async function likelihoodBitsPerDim(lik: FarmerLikelihood, images: U8Images, labels: ArrayLike<number> | null, rng: Rng): Promise<Float64Array> {
  return (await likelihoodWithTerms(lik, images, labels, rng)).bitsPerDim;
}

/**
 * {@link likelihoodBitsPerDim} with the joint log-likelihood's three terms
 * (docs/method.md §5.1 Joint loss), nats [B] each, under the given labels: what the likelihood route reports.
 */
export async function likelihoodWithTerms(lik: FarmerLikelihood, images: U8Images, labels: ArrayLike<number> | null, rng: Rng): Promise<{ bitsPerDim: Float64Array; terms: LikelihoodTerms }> {
  const { values } = noisyImages(images, { mode: 'uniform' }, rng);
  const r = await lik.nll(values, images.count, labels);
  // The total is the terms' float64 sum, as `classify`'s log p(x|y); bits/dim stays the runtime's own NLL (equal up to its float32 rounding).
  const total = Float64Array.from(r.logpInformative, (v, i) => overflowAsImpossible(v + r.logpRedundant[i] + r.logdet[i]));
  return { bitsPerDim: Float64Array.from(r.nllPerDim, (v) => bitsPerDim(v)), terms: { informative: r.logpInformative, redundant: r.logpRedundant, logdet: r.logdet, total } };
}
