import { classify, type FarmerLikelihood } from '@farmer/ar-gmm';
import { Rng, type U8Images } from '@farmer/core';
import { auroc } from '../auroc.js';
import { moments, OOD_STATS_FORMAT, typicality, type OodStats } from './ood-stats.js';

/** The per-image out-of-distribution scores (docs/method.md §5.5 OOD scores). */
export const OOD_SCORES = ['bitsPerDim', 'typicality', 'logdetPerDim'] as const;
/** The name of a per-image OOD score, one of {@link OOD_SCORES}. */
export type OodScore = (typeof OOD_SCORES)[number];

/** Options of {@link computeOodStats} and {@link evaluateOod}. */
export interface OodOptions {
  batchSize?: number;
  seed?: number;
  /** Called after each batch with the images done and the total. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Per-image bits/dim (most likely class) and AF logdet per dim, by one `classify` pass. */
async function scoreImages(lik: FarmerLikelihood, images: U8Images, rng: Rng, options: OodOptions, offset: number, total: number) {
  const r = await classify(lik, images, { rng, batchSize: options.batchSize, signal: options.signal, onProgress: (d) => options.onProgress?.(offset + d, total) });
  return { bitsPerDim: r.bitsPerDim, logdetPerDim: r.logdetPerDim };
}

/** Training-set statistics of the scores, for `writeOodStats` (docs/method.md §5.5 OOD scores). */
export async function computeOodStats(lik: FarmerLikelihood, train: U8Images, data: string, options: OodOptions = {}): Promise<OodStats> {
  const seed = options.seed ?? 0;
  const s = await scoreImages(lik, train, new Rng(`ood:train:${seed}`), options, 0, train.count);
  return { format: OOD_STATS_FORMAT, version: 1, data, split: 'train', images: train.count, seed, bitsPerDim: moments(s.bitsPerDim), logdetPerDim: moments(s.logdetPerDim) };
}

/** How well each OOD score separates in-distribution from OOD images: AUROCs and the scores (docs/method.md §5.5 OOD scores). */
export interface OodReport {
  /** AUROC of telling OOD from in-distribution images, higher score meaning OOD (0.5: chance; < 0.5: the score points the other way). */
  auroc: Record<OodScore, number>;
  /** Every image's scores, in-distribution and OOD. */
  scores: Record<OodScore, { in: Float64Array; out: Float64Array }>;
  images: { in: number; out: number };
}

/**
 * AUROC of each OOD score (docs/method.md §5.5 OOD scores) for in-distribution
 * images against OOD images: bits/dim, typicality |bits/dim − training mean|
 * (needs `stats`), and the AF's summed logdet per dim.
 */
export async function evaluateOod(lik: FarmerLikelihood, inDist: U8Images, ood: U8Images, stats: OodStats, options: OodOptions = {}): Promise<OodReport> {
  const seed = options.seed ?? 0;
  const total = inDist.count + ood.count;
  const a = await scoreImages(lik, inDist, new Rng(`ood:in:${seed}`), options, 0, total);
  const b = await scoreImages(lik, ood, new Rng(`ood:out:${seed}`), options, inDist.count, total);
  const scores: OodReport['scores'] = {
    bitsPerDim: { in: a.bitsPerDim, out: b.bitsPerDim },
    typicality: { in: typicality(a.bitsPerDim, stats), out: typicality(b.bitsPerDim, stats) },
    logdetPerDim: { in: a.logdetPerDim, out: b.logdetPerDim },
  };
  const result = Object.fromEntries(OOD_SCORES.map((k) => [k, auroc(scores[k].out, scores[k].in)])) as Record<OodScore, number>;
  return { auroc: result, scores, images: { in: inDist.count, out: ood.count } };
}
