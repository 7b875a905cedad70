import { FarmerError } from '@farmer/core/browser';

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

/** ½·log 2π, the constant of every Gaussian log-density here and in the tfjs `gmmLogProb`. */
export const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export function checkGmmBatch(g: GmmBatch): void {
  const { batch: b, k, dim } = g;
  if (g.logits.length !== b * k || g.means.length !== b * k * dim || g.sigmas.length !== b * k * dim) {
    throw new FarmerError('FARMER_E_SHAPE', `GMM batch arrays do not match B=${b}, K=${k}, dim=${dim}`);
  }
}

/** log Σ exp(x_i) in float64, stable for huge and -Infinity entries; NaN if any entry is NaN. */
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

/** log softmax(logits[row] / T) into `out` (length K), float64. */
export function logMixtureWeights(g: GmmBatch, row: number, temperature = 1, out = new Float64Array(g.k)): Float64Array {
  const base = row * g.k;
  for (let c = 0; c < g.k; c++) out[c] = g.logits[base + c] / temperature;
  const lse = logSumExp(out);
  for (let c = 0; c < g.k; c++) out[c] -= lse;
  return out;
}

/**
 * The host GMM log-density (docs/method.md §4.6 GMM log-density; temperatures:
 * docs/method.md §7.3 GMM temperatures) of one row of a GMM batch, for many
 * vectors: log G(z) = logsumexp_c [log π_c + Σ_j log N(z_j; μ_cj, (T_σ·σ_cj)²)],
 * π = softmax(logits / T_π). `setRow`
 * does the per-row work once: for each component log π_c − Σ_j log(T_σ·σ_cj)
 * − (dim/2)·log 2π, and 1/(T_σ·σ_cj). A vector then costs K·dim
 * multiply-adds and K exps instead of K·dim logarithms (resampling CFG's
 * redundant pool scores ~128 vectors against a K = 200, d = 640 row per
 * image). Float64 throughout.
 *
 * NaN anywhere (a coordinate, mean, σ or logit) gives NaN, never −∞: a
 * broken stream must become an excluded candidate, not an infinite guidance
 * weight.
 */
export class GmmRowScorer {
  private readonly piTemp: number;
  private readonly sigmaTemp: number;
  private readonly logConst: Float64Array<ArrayBuffer>; // [K]
  private readonly invSigma: Float64Array; // [K, dim]
  private readonly comp: Float64Array; // [K] scratch
  private row = -1;

  constructor(
    private readonly g: GmmBatch,
    temp: GmmTemperature = {},
  ) {
    this.piTemp = temp.pi ?? 1;
    this.sigmaTemp = temp.sigma ?? 1;
    this.logConst = new Float64Array(g.k);
    this.invSigma = new Float64Array(g.k * g.dim);
    this.comp = new Float64Array(g.k);
  }

  /** Precomputes the constants of row `row` (a no-op if it is already loaded). */
  setRow(row: number): this {
    if (row === this.row) return this;
    const { g } = this;
    const { k, dim } = g;
    logMixtureWeights(g, row, this.piTemp, this.logConst);
    for (let c = 0; c < k; c++) {
      const base = (row * k + c) * dim;
      let logDet = 0;
      for (let j = 0; j < dim; j++) {
        const s = this.sigmaTemp * g.sigmas[base + j];
        logDet += Math.log(s);
        this.invSigma[c * dim + j] = 1 / s;
      }
      this.logConst[c] -= logDet + dim * HALF_LOG_2PI;
    }
    this.row = row;
    return this;
  }

  /**
   * Per-component joint log-likelihoods of z[off .. off + dim) into `out`
   * Shape [K]: out[c] = log π_c + Σ_j log N(z_j; μ_cj, (T_σ·σ_cj)²). Call setRow first.
   */
  componentLogLik(z: ArrayLike<number>, off: number, out: Float64Array = this.comp): Float64Array {
    const { k, dim } = this.g;
    const base = this.row * k * dim;
    const means = this.g.means;
    for (let c = 0; c < k; c++) {
      let q = 0;
      const cb = c * dim;
      for (let j = 0; j < dim; j++) {
        const u = (z[off + j] - means[base + cb + j]) * this.invSigma[cb + j];
        q += u * u;
      }
      out[c] = this.logConst[c] - 0.5 * q;
    }
    return out;
  }

  /** log G_row(z[off .. off + dim)) under the scorer's temperatures. Call setRow first. */
  logDensity(z: ArrayLike<number>, off: number): number {
    return logSumExp(this.componentLogLik(z, off));
  }
}

/**
 * Per-component joint log-likelihoods of z under row `row` (see
 * {@link GmmRowScorer.componentLogLik}); for many vectors, keep a scorer.
 */
export function gmmComponentLogLik(g: GmmBatch, row: number, z: ArrayLike<number>, zOffset = 0, temp: GmmTemperature = {}, out = new Float64Array(g.k)): Float64Array {
  return new GmmRowScorer(g, temp).setRow(row).componentLogLik(z, zOffset, out);
}

/** log G(z) for row `row` (docs/method.md §4.6 GMM log-density), with optional temperatures, in float64; for many vectors, keep a {@link GmmRowScorer}. */
export function gmmLogDensity(g: GmmBatch, row: number, z: ArrayLike<number>, zOffset = 0, temp: GmmTemperature = {}): number {
  return new GmmRowScorer(g, temp).setRow(row).logDensity(z, zOffset);
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
