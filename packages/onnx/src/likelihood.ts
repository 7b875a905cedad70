import { farmerDims, gmmLogDensity, headOutputToGmm, toArOrderHost, type BpdResult, type EvaluateOptions, type FarmerConfig, type FarmerModel } from '@farmer/ar-gmm';
import { bitsPerDim, FarmerError, gatherExamples, noisyImages, Rng, tf, type ImageDataset, type U8Images } from '@farmer/core';

/** Per-image pieces of the joint NLL (nats), as @farmer/ar-gmm's FarmerNll but on the host, each [B]. */
export interface HostNll {
  /** −(1/(N·d))·[Σ log G_i(z_i^I) + Σ log G_{N+1}(z_i^R) + Σ_t log|det_t|] (method doc §4). */
  nllPerDim: Float64Array;
  logpInformative: Float64Array;
  logpRedundant: Float64Array;
  /** Σ over blocks of log|det|. */
  logdet: Float64Array;
}

/**
 * What likelihood code needs from a model, whatever runtime backs it: the
 * joint NLL of a batch of images. `tfLikelihood(model)` (tfjs) and
 * `OrtRunner` (onnxruntime, from `@farmer/onnx/runtime`) implement it, so
 * bits/dim run unchanged on either.
 */
export interface FarmerLikelihood {
  readonly config: FarmerConfig;
  /** Runtime name for reports ('tfjs', 'onnxruntime'). */
  readonly runtime: string;
  /**
   * images: float32 NCHW [B, C, H, W] in [-1, 1] space (already
   * dequantised); labels: a class per image, -1, or null (the null label).
   */
  nll(images: Float32Array, batch: number, labels: ArrayLike<number> | null): Promise<HostNll>;
}

/** The tfjs implementation: `model.nllImages` in a tidy scope. */
export function tfLikelihood(model: FarmerModel): FarmerLikelihood {
  const c = model.config;
  return {
    config: c,
    runtime: 'tfjs',
    async nll(images, batch, labels) {
      const g = { c: c.flow.inChannels, s: c.flow.imageSize };
      let parts: Float64Array[] = [];
      tf.tidy(() => {
        const r = model.nllImages(tf.tensor4d(images, [batch, g.c, g.s, g.s]), labels);
        parts = [r.nllPerDim, r.logpInformative, r.logpRedundant, r.logdet].map((t) => Float64Array.from(t.dataSync()));
      });
      return { nllPerDim: parts[0], logpInformative: parts[1], logpRedundant: parts[2], logdet: parts[3] };
    },
  };
}

/** Raw outputs of the AF forward and AR teacher-forced graphs for one batch. */
export interface RawLikelihoodOutputs {
  /** z [B, N, d], AF order. */
  z: ArrayLike<number>;
  /** log|det| per block [B, n]. */
  logdets: ArrayLike<number>;
  /** Informative head [B, N, K_I(1+2d_I)], row i models token i (AR order). */
  headInformative: ArrayLike<number>;
  /** Redundant head [B, K_R(1+2d_R)], absent when d_R = 0. */
  headRedundant?: ArrayLike<number>;
}

/**
 * The joint NLL (method doc §4) from raw graph outputs, in float64 with the
 * host GMM math of @farmer/ar-gmm (σ = softplus(u) + σ_min, log G by a
 * stable logsumexp): the same formulas as `FarmerModel.nll`.
 */
export function nllFromRawOutputs(c: FarmerConfig, batch: number, raw: RawLikelihoodOutputs): HostNll {
  const { numTokens: N, tokenDim: d, dI, dR } = farmerDims(c);
  const n = c.flow.numBlocks;
  const z = toArOrderHost(c, Float32Array.from(raw.z), batch, N, d);
  const gI = headOutputToGmm(raw.headInformative, batch * N, c.ar.componentsInformative, dI, c.ar.sigmaMin);
  if (dR > 0 && !raw.headRedundant) throw new FarmerError('FARMER_E_SHAPE', 'the redundant head output is missing (d_R > 0)');
  const gR = raw.headRedundant && dR > 0 ? headOutputToGmm(raw.headRedundant, batch, c.ar.componentsRedundant, dR, c.ar.sigmaMin) : undefined;
  const out: HostNll = { nllPerDim: new Float64Array(batch), logpInformative: new Float64Array(batch), logpRedundant: new Float64Array(batch), logdet: new Float64Array(batch) };
  for (let b = 0; b < batch; b++) {
    let lpI = 0;
    let lpR = 0;
    let ld = 0;
    for (let i = 0; i < N; i++) {
      const at = (b * N + i) * d;
      lpI += gmmLogDensity(gI, b * N + i, z, at);
      // The redundant GMM is shared by all N tokens, each scored independently.
      if (gR) lpR += gmmLogDensity(gR, b, z, at + dI);
    }
    for (let t = 0; t < n; t++) ld += raw.logdets[b * n + t];
    out.logpInformative[b] = lpI;
    out.logpRedundant[b] = lpR;
    out.logdet[b] = ld;
    out.nllPerDim[b] = -(lpI + lpR + ld) / (N * d);
  }
  return out;
}

/**
 * Bits/dim of each image [B] (method doc §4) under uniform dequantisation
 * with noise from `rng`, on any runtime: the twin of @farmer/ar-gmm's
 * `imagesBitsPerDim` (same noise for the same rng state).
 */
export async function likelihoodBitsPerDim(lik: FarmerLikelihood, images: U8Images, labels: ArrayLike<number> | null, rng: Rng): Promise<Float64Array> {
  const { values } = noisyImages(images, { mode: 'uniform' }, rng);
  const r = await lik.nll(values, images.count, labels);
  return Float64Array.from(r.nllPerDim, (v) => bitsPerDim(v));
}

/**
 * Test bits/dim on any runtime: the twin of @farmer/ar-gmm's `evaluateBpd`
 * (same batching, noise seed and result), over a FarmerLikelihood.
 */
export async function evaluateBpdWith(lik: FarmerLikelihood, ds: ImageDataset, options: EvaluateOptions = {}): Promise<BpdResult> {
  const total = options.maxImages ? Math.min(options.maxImages, ds.images.count) : ds.images.count;
  const bs = options.batchSize ?? 100;
  const rng = new Rng(`eval:${options.seed ?? 0}`);
  const per: number[] = [];
  for (let start = 0; start < total; start += bs) {
    if (options.signal?.aborted) break;
    const idx = Int32Array.from({ length: Math.min(bs, total - start) }, (_, i) => start + i);
    const { images, labels } = gatherExamples(ds, idx);
    const bpd = await likelihoodBitsPerDim(lik, images, options.conditional === false ? null : labels, rng);
    for (const v of bpd) per.push(v);
    options.onProgress?.(Math.min(start + bs, total), total);
    await new Promise((r) => setImmediate(r));
  }
  const n = per.length;
  const mean = per.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(per.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  return { bpd: mean, stderr: sd / Math.sqrt(n), images: n, dequantization: 'uniform' };
}
