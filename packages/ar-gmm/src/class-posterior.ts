import { FarmerError } from '@farmer/core/browser';
import { logSumExp } from './gmm-host.js';

/**
 * The Bayes posterior (docs/method.md §5.4 Bayes classification) from
 * per-class log-likelihoods logLik [count, K]: p(y|x) = softmax_y(log π_y +
 * log p(x|y)/T), float64 by a stable logsumexp. Pure, so a temperature can
 * be fitted without scoring the images again.
 */
export function classPosterior(logLik: ArrayLike<number>, numClasses: number, options: { prior?: ArrayLike<number>; temperature?: number } = {}): Float64Array {
  const K = numClasses;
  const T = options.temperature ?? 1;
  if (!(T > 0) || !Number.isFinite(T)) throw new FarmerError('FARMER_E_BAD_INPUT', `temperature must be a finite number > 0, got ${T}`, { field: 'temperature' });
  const logPrior = logPriorOf(options.prior, K);
  const count = logLik.length / K;
  if (!Number.isInteger(count)) throw new FarmerError('FARMER_E_SHAPE', `logLik has ${logLik.length} values, not a multiple of K = ${K}`);
  const out = new Float64Array(logLik.length);
  for (let b = 0; b < count; b++) {
    for (let k = 0; k < K; k++) out[b * K + k] = logPrior[k] + logLik[b * K + k] / T;
    const lse = logSumExp(out, b * K, K);
    // An image impossible under every class (overflow, docs/method.md §5.2 Bits per dim) tells nothing: the prior.
    for (let k = 0; k < K; k++) out[b * K + k] = lse === -Infinity ? Math.exp(logPrior[k]) : Math.exp(out[b * K + k] - lse);
  }
  return out;
}

/** log π [K] from a positive prior (normalised), or uniform. */
function logPriorOf(prior: ArrayLike<number> | undefined, K: number): Float64Array {
  if (!prior) return new Float64Array(K).fill(-Math.log(K));
  if (prior.length !== K) throw new FarmerError('FARMER_E_BAD_INPUT', `prior has ${prior.length} entries, the model has ${K} classes`, { field: 'prior' });
  let sum = 0;
  for (let k = 0; k < K; k++) {
    if (!(prior[k] > 0) || !Number.isFinite(prior[k])) throw new FarmerError('FARMER_E_BAD_INPUT', `prior[${k}] = ${prior[k]}: every class prior must be a finite number > 0`, { field: 'prior' });
    sum += prior[k];
  }
  return Float64Array.from({ length: K }, (_, k) => Math.log(prior[k] / sum));
}

/** Index of the largest of row b of a [count, K] array. */
export function argmaxRow(a: ArrayLike<number>, b: number, K: number): number {
  let best = 0;
  for (let k = 1; k < K; k++) if (a[b * K + k] > a[b * K + best]) best = k;
  return best;
}

/**
 * The temperature T of `classPosterior` that minimises the mean negative log
 * posterior of the true labels (docs/method.md §5.4 Bayes classification):
 * a grid over log T in [log 1e-2, log 1e6], then golden-section refinement.
 * Fit it on held-out training images, never on a test split.
 */
export function fitTemperature(logLik: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, options: { prior?: ArrayLike<number> } = {}): { temperature: number; nll: number } {
  const K = numClasses;
  if (labels.length * K !== logLik.length) throw new FarmerError('FARMER_E_SHAPE', `${labels.length} labels for ${logLik.length / K} rows of log-likelihoods`);
  if (labels.length === 0) throw new FarmerError('FARMER_E_BAD_INPUT', 'fitting a temperature needs at least one labelled image', { field: 'labels' });
  const nll = (logT: number) => {
    const p = classPosterior(logLik, K, { prior: options.prior, temperature: Math.exp(logT) });
    let s = 0;
    for (let b = 0; b < labels.length; b++) s -= Math.log(Math.max(p[b * K + labels[b]], 1e-300));
    return s / labels.length;
  };
  const lo = Math.log(1e-2);
  const hi = Math.log(1e6);
  const steps = 40;
  let best = lo;
  let bestNll = Infinity;
  for (let i = 0; i <= steps; i++) {
    const t = lo + ((hi - lo) * i) / steps;
    const v = nll(t);
    if (v < bestNll) [best, bestNll] = [t, v];
  }
  // Golden-section search inside the grid cell around the best point.
  const g = (Math.sqrt(5) - 1) / 2;
  let a = best - (hi - lo) / steps;
  let b = best + (hi - lo) / steps;
  for (let i = 0; i < 40; i++) {
    const c = b - g * (b - a);
    const d = a + g * (b - a);
    if (nll(c) < nll(d)) b = d;
    else a = c;
  }
  const t = (a + b) / 2;
  const v = nll(t);
  return v < bestNll ? { temperature: Math.exp(t), nll: v } : { temperature: Math.exp(best), nll: bestNll };
}
