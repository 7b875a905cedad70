import { FarmerError } from '@farmer/core';
import { checkFeatureMatrix, type FeatureMatrix } from './feature-matrix.js';

/** Options for {@link inceptionScore}. */
export interface InceptionScoreOptions {
  /** Number of contiguous splits; the score is averaged over them. Default 10. */
  splits?: number;
}

/** Inception Score as mean ± std over splits. */
export interface InceptionScoreResult {
  mean: number;
  /** Population std (ddof 0) over splits, as the original implementation. */
  std: number;
  /** `[splits]`: the score of each split. */
  scores: Float64Array;
}

/** How far a row of probabilities may sum from 1 before it is taken for logits. */
const SUM_TOLERANCE = 1e-3;

/**
 * Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) ‖ p(y))), where
 * p(y) is the mean prediction within a split. Rows are split into `splits`
 * contiguous parts of ⌊i·n/splits⌋ boundaries (as the original code and
 * torch-fidelity, without shuffling); 0·log 0 counts as 0. It is 1 when all
 * predictions are identical and C when they are confident and spread
 * uniformly over C classes.
 *
 * @param probs - `[n, C]` class probabilities (softmax outputs), n ≥ splits.
 */
export function inceptionScore(probs: FeatureMatrix, opts: InceptionScoreOptions = {}): InceptionScoreResult {
  const splits = opts.splits ?? 10;
  if (!Number.isInteger(splits) || splits < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `inceptionScore: splits must be a positive integer, got ${splits}`, { field: 'splits' });
  checkFeatureMatrix(probs, 'probs', splits);
  checkProbabilities(probs);
  const { count: n, dim: c, data: p } = probs;
  const scores = new Float64Array(splits);
  const marginal = new Float64Array(c);
  for (let s = 0; s < splits; s++) {
    const r0 = Math.floor((s * n) / splits);
    const r1 = Math.floor(((s + 1) * n) / splits);
    marginal.fill(0);
    for (let r = r0; r < r1; r++) for (let j = 0; j < c; j++) marginal[j] += p[r * c + j];
    for (let j = 0; j < c; j++) marginal[j] /= r1 - r0;
    let kl = 0;
    for (let r = r0; r < r1; r++) {
      for (let j = 0; j < c; j++) {
        const v = p[r * c + j];
        if (v > 0) kl += v * (Math.log(v) - Math.log(marginal[j]));
      }
    }
    scores[s] = Math.exp(kl / (r1 - r0));
  }
  let mean = 0;
  for (const v of scores) mean += v;
  mean /= splits;
  let v2 = 0;
  for (const v of scores) v2 += (v - mean) ** 2;
  return { mean, std: Math.sqrt(v2 / splits), scores };
}

/**
 * Row-wise softmax in float64, for classifiers that output logits.
 *
 * @param logits - `[n, C]`.
 * @returns `[n, C]` probabilities.
 */
export function softmaxRows(logits: FeatureMatrix): FeatureMatrix {
  checkFeatureMatrix(logits, 'logits');
  const { count: n, dim: c, data } = logits;
  const out = new Float64Array(n * c);
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let j = 0; j < c; j++) max = Math.max(max, data[r * c + j]);
    if (!Number.isFinite(max)) throw new FarmerError('FARMER_E_NON_FINITE', `softmaxRows: row ${r} has no finite maximum logit (${max})`, { row: r });
    let sum = 0;
    for (let j = 0; j < c; j++) sum += out[r * c + j] = Math.exp(data[r * c + j] - max);
    for (let j = 0; j < c; j++) out[r * c + j] /= sum;
  }
  return { data: out, count: n, dim: c };
}

function checkProbabilities(probs: FeatureMatrix): void {
  const { count: n, dim: c, data: p } = probs;
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let j = 0; j < c; j++) {
      const v = p[r * c + j];
      if (!(v >= 0 && v <= 1)) {
        throw new FarmerError(
          'FARMER_E_BAD_INPUT',
          `inceptionScore: probs row ${r}, class ${j} is ${v}; pass class probabilities in [0, 1] (apply softmaxRows to logits)`,
          { row: r },
        );
      }
      sum += v;
    }
    if (Math.abs(sum - 1) > SUM_TOLERANCE) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `inceptionScore: probs row ${r} sums to ${sum}, not 1; pass softmax probabilities, not logits or features`, { row: r });
    }
  }
}
