import { FarmerError, isFarmerError } from '@farmer/core';
import type { GmmBatch } from '@farmer/ar-gmm';

/** A mixture given by its parameters, K components of dimension dim (component-major). */
export interface MixtureSpec {
  logits: number[];
  means: number[];
  sigmas: number[];
}

/** The same mixture repeated on `rows` rows: one GmmBatch of B = rows. */
export function replicate(spec: MixtureSpec, rows: number): GmmBatch {
  const k = spec.logits.length;
  const dim = spec.means.length / k;
  const g: GmmBatch = {
    batch: rows,
    k,
    dim,
    logits: new Float32Array(rows * k),
    means: new Float32Array(rows * k * dim),
    sigmas: new Float32Array(rows * k * dim),
  };
  for (let r = 0; r < rows; r++) {
    g.logits.set(spec.logits, r * k);
    g.means.set(spec.means, r * k * dim);
    g.sigmas.set(spec.sigmas, r * k * dim);
  }
  return g;
}

/** softmax(logits / T) in float64. */
export function softmax(logits: number[], temperature = 1): number[] {
  const m = Math.max(...logits.map((l) => l / temperature));
  const e = logits.map((l) => Math.exp(l / temperature - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** log-density of a 1-D mixture spec at x, float64 (independent of @farmer/ar-gmm on purpose). */
export function mixtureLogPdf1d(spec: MixtureSpec, x: number): number {
  const p = softmax(spec.logits);
  let s = 0;
  for (let c = 0; c < p.length; c++) {
    const u = (x - spec.means[c]) / spec.sigmas[c];
    s += (p[c] * Math.exp(-0.5 * u * u)) / (spec.sigmas[c] * Math.sqrt(2 * Math.PI));
  }
  return Math.log(s);
}

/** A density tabulated on a uniform grid, normalised by the trapezoid rule, with its CDF and moments. */
export interface GridDensity {
  x: Float64Array;
  cdf: Float64Array;
  mean: number;
  variance: number;
  /** Fourth central moment μ4, for the standard error of a sample variance. */
  mu4: number;
}

/** Tabulates exp(logDensity) on [lo, hi] with `points` nodes (unnormalised input is fine). */
export function tabulate(logDensity: (x: number) => number, lo: number, hi: number, points: number): GridDensity {
  const x = new Float64Array(points);
  const lp = new Float64Array(points);
  const h = (hi - lo) / (points - 1);
  let max = -Infinity;
  for (let i = 0; i < points; i++) {
    x[i] = lo + i * h;
    lp[i] = logDensity(x[i]);
    if (lp[i] > max) max = lp[i];
  }
  const p = lp.map((v) => Math.exp(v - max));
  const cdf = new Float64Array(points);
  for (let i = 1; i < points; i++) cdf[i] = cdf[i - 1] + 0.5 * h * (p[i] + p[i - 1]);
  const z = cdf[points - 1];
  for (let i = 0; i < points; i++) {
    p[i] /= z;
    cdf[i] /= z;
  }
  const moment = (f: (v: number) => number): number => {
    let s = 0;
    for (let i = 1; i < points; i++) s += 0.5 * h * (f(x[i]) * p[i] + f(x[i - 1]) * p[i - 1]);
    return s;
  };
  const mean = moment((v) => v);
  const variance = moment((v) => (v - mean) ** 2);
  const mu4 = moment((v) => (v - mean) ** 4);
  return { x, cdf, mean, variance, mu4 };
}

/** CDF of a tabulated density at v, by linear interpolation. */
export function gridCdf(d: GridDensity, v: number): number {
  const n = d.x.length;
  if (v <= d.x[0]) return 0;
  if (v >= d.x[n - 1]) return 1;
  const h = d.x[1] - d.x[0];
  const f = (v - d.x[0]) / h;
  const i = Math.floor(f);
  return d.cdf[i] + (f - i) * (d.cdf[i + 1] - d.cdf[i]);
}

/** Kolmogorov–Smirnov distance sup |F_n − F| between samples and a tabulated CDF. */
export function ksDistance(samples: ArrayLike<number>, d: GridDensity): number {
  const s = Float64Array.from(samples).sort();
  const n = s.length;
  let D = 0;
  for (let i = 0; i < n; i++) {
    const f = gridCdf(d, s[i]);
    D = Math.max(D, Math.abs(f - i / n), Math.abs((i + 1) / n - f));
  }
  return D;
}

/**
 * KS acceptance bound at level α for n samples: sqrt(−ln(α/2) / (2n)) (the
 * asymptotic Kolmogorov quantile; α = 1e-3 gives 1.95/√n).
 */
export function ksBound(n: number, alpha = 1e-3): number {
  return Math.sqrt(-Math.log(alpha / 2) / (2 * n));
}

export function meanVar(xs: ArrayLike<number>): { mean: number; variance: number; n: number } {
  const n = xs.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += xs[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (xs[i] - m) ** 2;
  return { mean: m, variance: v / (n - 1), n };
}

/**
 * Upper quantiles of χ² at α = 1e-4 by degrees of freedom, from the
 * Wilson–Hilferty approximation: k·(1 − 2/(9k) + z·sqrt(2/(9k)))³ with
 * z = 3.719 (the N(0,1) 1 − 1e-4 quantile); within ~1% of exact for k ≥ 3.
 */
export function chiSquareBound(dof: number, z = 3.719): number {
  return dof * (1 - 2 / (9 * dof) + z * Math.sqrt(2 / (9 * dof))) ** 3;
}

/** Runs `fn`, expecting a FarmerError; returns it for inspection. */
export function farmerError(fn: () => unknown): FarmerError {
  try {
    fn();
  } catch (e) {
    if (isFarmerError(e)) return e;
    throw e;
  }
  throw new Error('expected a FarmerError');
}
