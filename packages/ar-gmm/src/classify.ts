import { bitsPerDim, FarmerError, noisyImages, Rng, sliceImages, type U8Images } from '@farmer/core/browser';
import { farmerDims } from './config.js';
import { toArOrderHost } from './final-permute.js';
import { argmaxRow, classPosterior } from './class-posterior.js';
import { overflowAsImpossible, type FarmerLikelihood, type LikelihoodTerms } from './likelihood-interface.js';

/** How `classify` scores and turns likelihoods into a posterior. */
export interface ClassifyOptions {
  /** Class prior π [K], positive (normalised here); default uniform. */
  prior?: ArrayLike<number>;
  /** Temperature T > 0 of the likelihood in the posterior, p(y|x) ∝ π_y·p(x|y)^{1/T} (default 1). */
  temperature?: number;
  /** Dequantisation noise, one draw per pixel shared by every class (default `Rng('classify:0')`). */
  rng?: Rng;
  /** Images per AF pass (default 16); the AR pass scores batchSize·K rows at once. */
  batchSize?: number;
  /** Called after each batch of images with the images done and the total. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Per-image scores of a class-conditional FARMER (docs/method.md §5.4 Bayes classification). */
export interface Classification {
  count: number;
  numClasses: number;
  /** log p(x|y) in nats of the dequantised image on the [-1, 1] scale, [count, K] row-major. */
  logLik: Float64Array;
  /** p(y|x) [count, K] row-major, each row sums to 1. */
  posterior: Float64Array;
  /** argmax_y p(y|x) [count]. */
  predicted: Int32Array;
  /** Bits/dim under the most likely class argmax_y log p(x|y) [count]. */
  bitsPerDim: Float64Array;
  /** The AF's share: Σ_t log|det_t| / (N·d) [count] (docs/method.md §10.1 logdet outliers). */
  logdetPerDim: Float64Array;
  /** log p(x|y*) under the most likely class y* and its three terms, nats [count] each (docs/method.md §5.5 OOD scores). */
  terms: LikelihoodTerms;
}

/**
 * Classifies images with a class-conditional FARMER by Bayes' rule
 * (docs/method.md §5.4 Bayes classification), on any runtime: per image,
 * log p(x|y) for every class, the posterior, its argmax, and bits/dim under
 * the most likely class. FARMER's AF takes no label, so each image goes
 * through the AF once; its latents are repeated K times and the AR scores
 * all [B·K] (image, class) rows in one batch. One dequantisation draw per
 * image is shared by every class, so the noise cancels in the posterior.
 * images: u8 HWC [count, H, W, C] of the model's geometry.
 */
export async function classify(lik: FarmerLikelihood, images: U8Images, options: ClassifyOptions = {}): Promise<Classification> {
  const c = lik.config;
  const K = c.numClasses;
  if (K === 0) throw new FarmerError('FARMER_E_BAD_INPUT', 'this model is unconditional (numClasses 0): Bayes classification needs p(x|y) for each class; train a class-conditional model (--classes) to classify', { field: 'model' });
  const f = c.flow;
  if (images.channels !== f.inChannels || images.height !== f.imageSize || images.width !== f.imageSize) {
    throw new FarmerError('FARMER_E_SHAPE', `images are ${images.height}×${images.width}×${images.channels}, this model takes ${f.imageSize}×${f.imageSize}×${f.inChannels}`, { field: 'images' });
  }
  const bs = options.batchSize ?? 16;
  if (!Number.isInteger(bs) || bs < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `batchSize must be an integer ≥ 1, got ${bs}`, { field: 'batchSize' });
  // Validate the posterior options before any model work.
  classPosterior(new Float64Array(K), K, options);
  const { numTokens: N, tokenDim: d } = farmerDims(c);
  const n = f.numBlocks;
  const rng = options.rng ?? new Rng('classify:0');
  const total = images.count;
  const logLik = new Float64Array(total * K);
  const logdetPerDim = new Float64Array(total);
  const bpd = new Float64Array(total);
  const terms: LikelihoodTerms = { informative: new Float64Array(total), redundant: new Float64Array(total), logdet: new Float64Array(total), total: new Float64Array(total) };
  for (let start = 0; start < total; start += bs) {
    if (options.signal?.aborted) throw new FarmerError('FARMER_E_ABORTED', 'classification was cancelled');
    const B = Math.min(bs, total - start);
    const { values } = noisyImages(sliceImages(images, start, B), { mode: 'uniform' }, rng);
    const { z, logdets } = await lik.flowForward(values, B);
    const zAr = toArOrderHost(c, z, B, N, d);
    // Row b·K + k holds image b under class k.
    const rows = new Float32Array(B * K * N * d);
    const labels = new Int32Array(B * K);
    for (let b = 0; b < B; b++) {
      const zb = zAr.subarray(b * N * d, (b + 1) * N * d);
      for (let k = 0; k < K; k++) {
        rows.set(zb, (b * K + k) * N * d);
        labels[b * K + k] = k;
      }
    }
    const ar = await lik.arLogLik(rows, B * K, labels);
    for (let b = 0; b < B; b++) {
      let ld = 0;
      for (let t = 0; t < n; t++) ld += logdets[b * n + t];
      const i = start + b;
      for (let k = 0; k < K; k++) logLik[i * K + k] = overflowAsImpossible(ar.logpInformative[b * K + k] + ar.logpRedundant[b * K + k] + ld);
      logdetPerDim[i] = ld / (N * d);
      const best = argmaxRow(logLik, i, K);
      bpd[i] = bitsPerDim(-logLik[i * K + best] / (N * d));
      terms.informative[i] = ar.logpInformative[b * K + best];
      terms.redundant[i] = ar.logpRedundant[b * K + best];
      terms.logdet[i] = ld;
      terms.total[i] = logLik[i * K + best];
    }
    options.onProgress?.(start + B, total);
  }
  const posterior = classPosterior(logLik, K, options);
  const predicted = Int32Array.from({ length: total }, (_, b) => argmaxRow(posterior, b, K));
  return { count: total, numClasses: K, logLik, posterior, predicted, bitsPerDim: bpd, logdetPerDim, terms };
}
