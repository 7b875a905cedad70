import { existsSync } from 'node:fs';
import type { U8Images } from '@farmer/core';
import { featureStats } from './feature-stats.js';
import type { FeatureExtractor } from './feature-extractor.js';
import { frechetDistance } from './fid.js';
import { inceptionScore } from './inception-score.js';
import { kid, type KidOptions } from './kid.js';
import { precisionRecall } from './precision-recall.js';
import { computeReferenceStats, loadReferenceStats, saveReferenceStats, type ReferenceStats } from './reference-stats.js';
import type { FeatureMatrix } from './feature-matrix.js';

/** The name of a sample-quality metric: FID, KID, Inception Score, precision/recall. */
export type SampleMetric = 'fid' | 'kid' | 'is' | 'pr';
/** Every {@link SampleMetric}. */
export const SAMPLE_METRICS: readonly SampleMetric[] = ['fid', 'kid', 'is', 'pr'];

/** An extractor that can also give class probabilities (for IS). */
export interface ProbabilityExtractor extends FeatureExtractor {
  /** Class probabilities `[count, C]` of the images (rows sum to 1), for the Inception Score. */
  probabilities?(images: U8Images): Promise<FeatureMatrix>;
}

/** Options of {@link sampleMetrics}: the extractor, the real and generated images, which metrics, the reference-statistics cache. */
export interface SampleMetricsOptions {
  extractor: ProbabilityExtractor;
  /** Real images (the reference set). */
  real: U8Images;
  /** Generated images. */
  fake: U8Images;
  metrics: readonly SampleMetric[];
  /** Cache of the real set's statistics (refused when the extractor differs). */
  referenceStatsPath?: string;
  kid?: KidOptions;
  /** Called as each stage advances, with the stage's name, the images done and the total. */
  onProgress?: (stage: string, done: number, total: number) => void;
}

/** What {@link sampleMetrics} computed: each metric asked for, the set sizes and the extractor identity. */
export interface SampleMetricsResult {
  fid?: number;
  kid?: { mean: number; std: number; subsetSize: number };
  is?: { mean: number; std: number };
  precision?: number;
  recall?: number;
  realCount: number;
  fakeCount: number;
  extractor: { id: string; hash: string };
}

/**
 * FID / KID / IS / precision-recall of generated images against real ones,
 * with any feature extractor (the built-in classifier or an ONNX network).
 */
export async function sampleMetrics(o: SampleMetricsOptions): Promise<SampleMetricsResult> {
  const want = new Set(o.metrics);
  const needRealFeatures = want.has('kid') || want.has('pr') || (want.has('fid') && !(o.referenceStatsPath && existsSync(o.referenceStatsPath)));
  const fakeF = await o.extractor.extract(o.fake, { onProgress: (d, t) => o.onProgress?.('features (generated)', d, t) });
  const realF = needRealFeatures ? await o.extractor.extract(o.real, { onProgress: (d, t) => o.onProgress?.('features (real)', d, t) }) : undefined;
  const out: SampleMetricsResult = { realCount: o.real.count, fakeCount: o.fake.count, extractor: { ...o.extractor.identity } };
  if (want.has('fid')) {
    let ref: ReferenceStats;
    if (o.referenceStatsPath && existsSync(o.referenceStatsPath)) ref = await loadReferenceStats(o.referenceStatsPath, { extractor: o.extractor.identity });
    else {
      ref = { ...featureStats(realF!), extractor: { ...o.extractor.identity } };
      if (o.referenceStatsPath) await saveReferenceStats(o.referenceStatsPath, ref);
    }
    out.fid = frechetDistance(ref, featureStats(fakeF));
  }
  if (want.has('kid')) {
    const k = kid(realF!, fakeF, o.kid);
    out.kid = { mean: k.mean, std: k.std, subsetSize: k.subsetSize };
  }
  if (want.has('pr')) {
    const pr = precisionRecall(realF!, fakeF);
    out.precision = pr.precision;
    out.recall = pr.recall;
  }
  if (want.has('is') && o.extractor.probabilities) {
    const s = inceptionScore(await o.extractor.probabilities(o.fake));
    out.is = { mean: s.mean, std: s.std };
  }
  return out;
}

export { computeReferenceStats };
