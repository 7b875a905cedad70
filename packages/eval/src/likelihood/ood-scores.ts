import { classPosterior, logSumExp, type Classification, type LikelihoodTerms } from '@farmer/ar-gmm';
import { typicality, type OodStats } from './ood-stats.js';

/**
 * The per-image out-of-distribution scores (docs/method.md §5.5 OOD scores). The first is
 * the default of `farmer eval ood` and of the likelihood and classify responses.
 */
export const OOD_SCORES = ['complexityTypicality', 'bitsPerDim', 'typicality', 'logdetPerDim', 'informativePerDim', 'lowLevelRatio', 'complexity', 'posteriorEntropy', 'classMargin'] as const;
/** The name of a per-image OOD score, one of {@link OOD_SCORES}. */
export type OodScore = (typeof OOD_SCORES)[number];
/** The score `farmer eval ood` leads with and the likelihood and classify responses carry: the only one with AUROC ≥ 0.95 both ways on the built-ins (docs/experiments/ood.md). */
export const DEFAULT_OOD_SCORE: OodScore = 'complexityTypicality';

/**
 * Each score's one fixed orientation (docs/method.md §5.5 OOD scores): 'higher' means a
 * higher value is more out-of-distribution. AUROC and FPR at 95% TPR use it, never a
 * per-pair flip.
 */
export const OOD_ORIENTATION: Record<OodScore, 'higher' | 'lower'> = {
  complexityTypicality: 'higher',
  bitsPerDim: 'higher',
  typicality: 'higher',
  logdetPerDim: 'higher',
  informativePerDim: 'higher',
  lowLevelRatio: 'higher',
  complexity: 'higher',
  posteriorEntropy: 'higher',
  classMargin: 'lower',
};

/** The token geometry the per-dimension scores divide by: N tokens of d channels, the first d_I informative. */
export interface OodDims {
  numTokens: number;
  tokenDim: number;
  dI: number;
}

/** An image the AF overflows on has no finite density (docs/method.md §5.2 Bits per dim): the most out-of-distribution value. */
const impossible = (total: number): boolean => total === -Infinity || Number.isNaN(total);

/** −Σ_i log G_i(z_i^I | y*) / (N·d_I·ln 2): bits per informative dimension [count]. */
export function informativeBitsPerDim(terms: LikelihoodTerms, dims: OodDims): Float64Array {
  const scale = 1 / (dims.numTokens * dims.dI * Math.LN2);
  return Float64Array.from(terms.informative, (v, i) => (impossible(terms.total[i]) ? Infinity : -v * scale));
}

/**
 * The informative bits per informative dimension minus the low-level part, the redundant
 * log-density and the AF's logdet, per data dimension: −log G(z^I)/(N·d_I·ln 2) −
 * (−log G(z^R) − Σ logdet)/(N·d·ln 2) [count]. A likelihood ratio without a second model:
 * the low-level terms stand in for a background model of local statistics.
 */
export function lowLevelRatio(terms: LikelihoodTerms, dims: OodDims): Float64Array {
  const perI = 1 / (dims.numTokens * dims.dI * Math.LN2);
  const perD = 1 / (dims.numTokens * dims.tokenDim * Math.LN2);
  return Float64Array.from(terms.informative, (v, i) => (impossible(terms.total[i]) ? Infinity : -v * perI - (-terms.redundant[i] - terms.logdet[i]) * perD));
}

/** BPD(x) − L(x), L the PNG bits per dimension (Serrà et al.'s input-complexity correction) [count]. */
export function complexityCorrected(bitsPerDim: ArrayLike<number>, pngBitsPerDim: ArrayLike<number>): Float64Array {
  return Float64Array.from(bitsPerDim, (v, i) => v - pngBitsPerDim[i]);
}

/** H(p(·|x)) in nats under a uniform prior at temperature 1; an image impossible under every class gets log K [count]. logLik [count, K]. */
export function posteriorEntropy(logLik: Float64Array, numClasses: number): Float64Array {
  const K = numClasses;
  const p = classPosterior(logLik, K);
  const out = new Float64Array(logLik.length / K);
  for (let b = 0; b < out.length; b++) {
    let h = 0;
    for (let k = 0; k < K; k++) {
      const q = p[b * K + k];
      if (q > 0) h -= q * Math.log(q);
    }
    out[b] = h;
  }
  return out;
}

/**
 * max_y log p(x|y) − log p(x), log p(x) = log Σ_y π_y·p(x|y) with a uniform π: in [0, log K],
 * log K when one class explains the image alone, 0 when every class explains it equally
 * (and for an image impossible under every class). Lower is more out-of-distribution [count].
 */
export function classMargin(logLik: Float64Array, numClasses: number): Float64Array {
  const K = numClasses;
  const out = new Float64Array(logLik.length / K);
  for (let b = 0; b < out.length; b++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, logLik[b * K + k]);
    out[b] = max === -Infinity ? 0 : max - (logSumExp(logLik, b * K, K) - Math.log(K));
  }
  return out;
}

/**
 * The Mahalanobis distance of each image's (BPD, L) from the training images' mean, under
 * their covariance: √((v − μ)ᵀ Σ⁻¹ (v − μ)) [count]. A two-sided typicality test on the joint
 * law of the model's bits and the image's PNG bits: too few bits for its complexity is as
 * suspicious as too many, with no weight to tune.
 */
export function complexityTypicality(bitsPerDim: ArrayLike<number>, pngBitsPerDim: ArrayLike<number>, gaussian: OodStats['complexity']): Float64Array {
  const [m0, m1] = gaussian.mean;
  const [[a, b], [, c]] = gaussian.covariance;
  const det = a * c - b * b;
  return Float64Array.from(bitsPerDim, (v, i) => {
    if (!Number.isFinite(v)) return Infinity;
    const x = v - m0;
    const y = pngBitsPerDim[i] - m1;
    // Σ⁻¹ = [[c, −b], [−b, a]] / det for Σ = [[a, b], [b, c]].
    return Math.sqrt(Math.max(0, (c * x * x - 2 * b * x * y + a * y * y) / det));
  });
}

/**
 * Every score of {@link OOD_SCORES} for the images of one `classify` pass (the most likely
 * class y*, a uniform prior at temperature 1 for the posterior scores) and their PNG bits.
 */
export function oodScores(r: Classification, pngBitsPerDim: Float64Array, dims: OodDims, stats: OodStats): Record<OodScore, Float64Array> {
  return {
    complexityTypicality: complexityTypicality(r.bitsPerDim, pngBitsPerDim, stats.complexity),
    bitsPerDim: r.bitsPerDim,
    typicality: typicality(r.bitsPerDim, stats),
    logdetPerDim: Float64Array.from(r.logdetPerDim, (v, i) => (impossible(r.terms.total[i]) ? Infinity : v)),
    informativePerDim: informativeBitsPerDim(r.terms, dims),
    lowLevelRatio: lowLevelRatio(r.terms, dims),
    complexity: complexityCorrected(r.bitsPerDim, pngBitsPerDim),
    posteriorEntropy: posteriorEntropy(r.logLik, r.numClasses),
    classMargin: classMargin(r.logLik, r.numClasses),
  };
}
