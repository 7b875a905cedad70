import { classify, farmerDims, type Classification, type FarmerConfig, type FarmerLikelihood } from '@farmer/ar-gmm';
import { pngBitsPerDim, Rng, type U8Images } from '@farmer/core';
import { auroc } from '../auroc.js';
import { fprAtTpr } from '../fpr-at-tpr.js';
import { gaussian2, moments, OOD_STATS_FORMAT, OOD_STATS_VERSION, type OodStats } from './ood-stats.js';
import { OOD_ORIENTATION, OOD_SCORES, oodScores, type OodScore } from './ood-scores.js';

/** Options of {@link computeOodStats}, {@link scoreOod} and {@link evaluateOod}. */
export interface OodOptions {
  batchSize?: number;
  seed?: number;
  /** Called after each batch with the images done and the total. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** One `classify` pass (docs/method.md §5.4 Bayes classification) and the images' PNG bits: everything every OOD score is made from. */
async function measure(lik: FarmerLikelihood, images: U8Images, rng: Rng, options: OodOptions, offset: number, total: number) {
  const r = await classify(lik, images, { rng, batchSize: options.batchSize, signal: options.signal, onProgress: (d) => options.onProgress?.(offset + d, total) });
  return { classification: r, png: await pngBitsPerDim(images) };
}

/**
 * Adds Δ²/12 to both variances, Δ the PNG bits of one byte per image (8/(H·W·C)): the
 * variance of PNG sizes' rounding to whole bytes. It keeps Σ positive definite when every
 * training image has the same PNG size (noise, a single image), and is 1e-6 of MNIST's own.
 */
function withFloor(g: ReturnType<typeof gaussian2>, delta: number): ReturnType<typeof gaussian2> {
  const v = (delta * delta) / 12;
  const [[a, b], [, c]] = g.covariance;
  return { mean: g.mean, covariance: [[a + v, b], [b, c + v]] };
}

/** Training-set statistics of the scores, for `writeOodStats` (docs/method.md §5.5 OOD scores). Images with no finite density are left out and counted. */
export async function computeOodStats(lik: FarmerLikelihood, train: U8Images, data: string, options: OodOptions = {}): Promise<OodStats> {
  const seed = options.seed ?? 0;
  const { classification: r, png } = await measure(lik, train, new Rng(`ood:train:${seed}`), options, 0, train.count);
  const keep = Array.from({ length: train.count }, (_, i) => i).filter((i) => Number.isFinite(r.bitsPerDim[i]) && Number.isFinite(r.logdetPerDim[i]));
  const pick = (a: Float64Array) => Float64Array.from(keep, (i) => a[i]);
  const [bpd, logdet, pngs] = [pick(r.bitsPerDim), pick(r.logdetPerDim), pick(png)];
  return {
    format: OOD_STATS_FORMAT,
    version: OOD_STATS_VERSION,
    data,
    split: 'train',
    images: train.count,
    seed,
    excluded: train.count - keep.length,
    bitsPerDim: moments(bpd),
    logdetPerDim: moments(logdet),
    pngBitsPerDim: moments(pngs),
    complexity: withFloor(gaussian2(bpd, pngs), 8 / (train.height * train.width * train.channels)),
  };
}

/** Every OOD score of some images, with the `classify` pass they came from. */
export interface OodScoring {
  classification: Classification;
  pngBitsPerDim: Float64Array;
  scores: Record<OodScore, Float64Array>;
}

/**
 * Every OOD score (docs/method.md §5.5 OOD scores) of `images` under a class-conditional
 * model, from one AF and AR pass: what `evaluateOod`, `farmer classify` and the server's
 * likelihood and classify routes report. The dequantisation comes from `rng` (default
 * `Rng('classify:0')`, as `classify`'s).
 */
export async function scoreOod(lik: FarmerLikelihood, images: U8Images, stats: OodStats, options: OodOptions & { rng?: Rng } = {}): Promise<OodScoring> {
  const { classification } = await measure(lik, images, options.rng ?? new Rng('classify:0'), options, 0, images.count);
  return scoreClassified(classification, images, lik.config, stats);
}

/**
 * Every OOD score of images already classified by `classify` under `config`'s model. Any
 * temperature and prior do: the scores read log p(x|y) only, never the posterior given.
 */
export async function scoreClassified(classification: Classification, images: U8Images, config: FarmerConfig, stats: OodStats): Promise<OodScoring> {
  const png = await pngBitsPerDim(images);
  return { classification, pngBitsPerDim: png, scores: oodScores(classification, png, farmerDims(config), stats) };
}

/** How well each OOD score separates in-distribution from OOD images (docs/method.md §5.5 OOD scores). */
export interface OodReport {
  /** AUROC of telling OOD from in-distribution images by the score's fixed orientation (`OOD_ORIENTATION`; 0.5: chance; < 0.5: the score points the other way on this pair). */
  auroc: Record<OodScore, number>;
  /** The share of OOD images accepted when 95% of in-distribution images are (`fprAtTpr`), by the same orientation. */
  fprAt95Tpr: Record<OodScore, number>;
  /** Every image's scores, in-distribution and OOD, as defined (not oriented). */
  scores: Record<OodScore, { in: Float64Array; out: Float64Array }>;
  images: { in: number; out: number };
}

/** A score turned so that higher means more out-of-distribution. */
const oriented = (k: OodScore, a: Float64Array): Float64Array => (OOD_ORIENTATION[k] === 'higher' ? a : Float64Array.from(a, (v) => -v));

/**
 * AUROC and FPR at 95% TPR of each OOD score (docs/method.md §5.5 OOD scores) for
 * in-distribution images against OOD images; the typicality scores need `stats`.
 */
export async function evaluateOod(lik: FarmerLikelihood, inDist: U8Images, ood: U8Images, stats: OodStats, options: OodOptions = {}): Promise<OodReport> {
  const seed = options.seed ?? 0;
  const total = inDist.count + ood.count;
  const dims = farmerDims(lik.config);
  const a = await measure(lik, inDist, new Rng(`ood:in:${seed}`), options, 0, total);
  const b = await measure(lik, ood, new Rng(`ood:out:${seed}`), options, inDist.count, total);
  const sa = oodScores(a.classification, a.png, dims, stats);
  const sb = oodScores(b.classification, b.png, dims, stats);
  const scores = Object.fromEntries(OOD_SCORES.map((k) => [k, { in: sa[k], out: sb[k] }])) as OodReport['scores'];
  const per = (f: (out: Float64Array, inn: Float64Array) => number) => Object.fromEntries(OOD_SCORES.map((k) => [k, f(oriented(k, sb[k]), oriented(k, sa[k]))])) as Record<OodScore, number>;
  return { auroc: per(auroc), fprAt95Tpr: per((o, i) => fprAtTpr(o, i, 0.95)), scores, images: { in: inDist.count, out: ood.count } };
}
