import { FarmerError } from '@farmer/core';

/**
 * A batch of diagonal Gaussian mixtures on the host
 * (docs/method.md §4.6 GMM log-density), one per row: logits [B, K], means
 * [B, K, dim] and standard deviations σ [B, K, dim] (already positive),
 * component-major (k·dim + j). This is what the AR hands to the samplers,
 * whatever runtime produced it.
 */
export interface GmmBatch {
  batch: number;
  k: number;
  dim: number;
  logits: Float32Array;
  means: Float32Array;
  sigmas: Float32Array;
}

/** Temperatures (docs/method.md §7.3 GMM temperatures): logits are divided by `pi`; σ is multiplied by `sigma`. */
export interface GmmTemperature {
  pi?: number;
  sigma?: number;
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export function checkGmmBatch(g: GmmBatch): void {
  const { batch: b, k, dim } = g;
  if (g.logits.length !== b * k || g.means.length !== b * k * dim || g.sigmas.length !== b * k * dim) {
    throw new FarmerError('FARMER_E_SHAPE', `GMM batch arrays do not match B=${b}, K=${k}, dim=${dim}`);
  }
}

/** log Σ exp(x_i) in float64, stable for huge and -Infinity entries. */
export function logSumExp(xs: ArrayLike<number>, start = 0, length = xs.length - start): number {
  let max = -Infinity;
  for (let i = start; i < start + length; i++) {
    if (Number.isNaN(xs[i])) return NaN;
    if (xs[i] > max) max = xs[i];
  }
  if (max === -Infinity) return -Infinity;
  if (!Number.isFinite(max)) return max;
  let s = 0;
  for (let i = start; i < start + length; i++) s += Math.exp(xs[i] - max);
  return max + Math.log(s);
}

/** log N(z; μ, σ²) for one dimension, float64. */
export function gaussianLogPdf(z: number, mu: number, sigma: number): number {
  const u = (z - mu) / sigma;
  return -0.5 * u * u - Math.log(sigma) - HALF_LOG_2PI;
}

/** log softmax(logits[row] / T) into `out` (length K), float64. */
export function logMixtureWeights(g: GmmBatch, row: number, temperature = 1, out = new Float64Array(g.k)): Float64Array {
  const base = row * g.k;
  for (let c = 0; c < g.k; c++) out[c] = g.logits[base + c] / temperature;
  const lse = logSumExp(out);
  for (let c = 0; c < g.k; c++) out[c] -= lse;
  return out;
}

/**
 * Per-component joint log-likelihoods of z under row `row`: out[c] =
 * log π_c + Σ_j log N(z_j; μ_cj, (T_σ·σ_cj)²), with π = softmax(logits/T_π).
 */
export function gmmComponentLogLik(g: GmmBatch, row: number, z: ArrayLike<number>, zOffset = 0, temp: GmmTemperature = {}, out = new Float64Array(g.k)): Float64Array {
  const ts = temp.sigma ?? 1;
  logMixtureWeights(g, row, temp.pi ?? 1, out);
  for (let c = 0; c < g.k; c++) {
    const base = (row * g.k + c) * g.dim;
    let s = 0;
    for (let j = 0; j < g.dim; j++) s += gaussianLogPdf(z[zOffset + j], g.means[base + j], ts * g.sigmas[base + j]);
    out[c] += s;
  }
  return out;
}

/** log G(z) for row `row` (docs/method.md §4.6 GMM log-density), with optional temperatures, computed stably in float64. */
export function gmmLogDensity(g: GmmBatch, row: number, z: ArrayLike<number>, zOffset = 0, temp: GmmTemperature = {}): number {
  return logSumExp(gmmComponentLogLik(g, row, z, zOffset, temp));
}

/** Selects rows of a GMM batch into a new one (e.g. to replicate a stream's GMM). */
export function selectGmmRows(g: GmmBatch, rows: ArrayLike<number>): GmmBatch {
  const { k, dim } = g;
  const out: GmmBatch = {
    batch: rows.length,
    k,
    dim,
    logits: new Float32Array(rows.length * k),
    means: new Float32Array(rows.length * k * dim),
    sigmas: new Float32Array(rows.length * k * dim),
  };
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out.logits.set(g.logits.subarray(r * k, (r + 1) * k), i * k);
    out.means.set(g.means.subarray(r * k * dim, (r + 1) * k * dim), i * k * dim);
    out.sigmas.set(g.sigmas.subarray(r * k * dim, (r + 1) * k * dim), i * k * dim);
  }
  return out;
}

/** softplus(u) = log(1 + e^u), stable for large |u|. */
export function softplus(u: number): number {
  return u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u));
}

/**
 * Host twin of the tf `headToGmm`: raw head output [B, K(1+2·dim)] →
 * GmmBatch, σ = softplus(u) + σ_min.
 */
export function headOutputToGmm(raw: ArrayLike<number>, batch: number, k: number, dim: number, sigmaMin: number): GmmBatch {
  const width = k * (1 + 2 * dim);
  if (raw.length !== batch * width) throw new FarmerError('FARMER_E_SHAPE', `head output has ${raw.length} values, expected B·K(1+2·dim) = ${batch}·${width}`);
  const g: GmmBatch = { batch, k, dim, logits: new Float32Array(batch * k), means: new Float32Array(batch * k * dim), sigmas: new Float32Array(batch * k * dim) };
  for (let b = 0; b < batch; b++) {
    const o = b * width;
    for (let c = 0; c < k; c++) g.logits[b * k + c] = raw[o + c];
    for (let i = 0; i < k * dim; i++) {
      g.means[b * k * dim + i] = raw[o + k + i];
      g.sigmas[b * k * dim + i] = softplus(raw[o + k + k * dim + i]) + sigmaMin;
    }
  }
  return g;
}
