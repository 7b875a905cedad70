import { FarmerError } from '@farmer/core';

/** One bin of a reliability diagram: predictions whose confidence fell in [lo, hi). */
export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  /** Mean top-class probability of the bin (NaN when empty). */
  confidence: number;
  /** Fraction of the bin predicted correctly (NaN when empty). */
  accuracy: number;
}

/** How well predicted probabilities match accuracy: the expected calibration error and the reliability bins, from {@link calibration}. */
export interface Calibration {
  /** Expected calibration error Σ_b (n_b/n)·|acc_b − conf_b| over equal-width confidence bins. */
  ece: number;
  bins: ReliabilityBin[];
}

/**
 * Calibration of a classifier's probabilities probs [n, K] against labels [n]:
 * the top-class confidence is binned into `bins` equal-width bins of [0, 1]
 * (15 by default, the usual choice), and ECE is the count-weighted mean gap
 * between accuracy and confidence per bin.
 */
export function calibration(probs: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, bins = 15): Calibration {
  const n = labels.length;
  const K = numClasses;
  if (n === 0 || probs.length !== n * K) throw new FarmerError('FARMER_E_SHAPE', `calibration needs probabilities [n, K] for n ≥ 1 labels: got ${probs.length} values for ${n} labels and K = ${K}`);
  const count = new Float64Array(bins);
  const conf = new Float64Array(bins);
  const hit = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (probs[i * K + k] > probs[i * K + best]) best = k;
    const p = probs[i * K + best];
    const b = Math.min(bins - 1, Math.floor(p * bins));
    count[b]++;
    conf[b] += p;
    if (best === labels[i]) hit[b]++;
  }
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const c = count[b];
    out.push({ lo: b / bins, hi: (b + 1) / bins, count: c, confidence: c ? conf[b] / c : NaN, accuracy: c ? hit[b] / c : NaN });
    if (c) ece += (c / n) * Math.abs(hit[b] / c - conf[b] / c);
  }
  return { ece, bins: out };
}

/** Confusion matrix [K, K] (row: true class, column: predicted) and accuracy. */
export function confusionMatrix(predicted: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): { matrix: number[][]; accuracy: number } {
  if (predicted.length !== labels.length) throw new FarmerError('FARMER_E_SHAPE', `${predicted.length} predictions for ${labels.length} labels`);
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    matrix[labels[i]][predicted[i]]++;
    if (predicted[i] === labels[i]) correct++;
  }
  return { matrix, accuracy: labels.length ? correct / labels.length : NaN };
}
