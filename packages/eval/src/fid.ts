import { FarmerError } from '@farmer/core';
import { checkFeatureMatrix, type FeatureMatrix } from './feature-matrix.js';
import { checkFeatureStats, featureStats, type FeatureStats } from './feature-stats.js';
import { gemmNT } from './gemm.js';
import { psdFactor } from './psd-factor.js';
import { symEigen } from './sym-eigen.js';

/**
 * tr((S₁^½·S₂·S₁^½)^½) for symmetric PSD S₁, S₂, in float64.
 *
 * Both covariances are factored as S = F·Fᵀ by rank-revealing pivoted
 * Cholesky, and the one of lower rank r is kept (the trace is symmetric in
 * S₁, S₂); say S₁ = F·Fᵀ, F `[f, r]`. M = Fᵀ·S₂·F has the same non-zero
 * eigenvalues as S₁·S₂ and hence as S₁^½·S₂·S₁^½ (eig(AB) = eig(BA)), so the
 * trace is Σ √λᵢ(M) over M's eigenvalues (Householder tridiagonalisation +
 * implicit QL), with tiny negative eigenvalues from rounding clipped to 0.
 *
 * Singular covariances (fewer samples than features) are fine: the null space
 * of the factored one is dropped exactly instead of producing √(rounding
 * noise) terms, and nothing is inverted. Only directions in the range of one
 * covariance and the null space of the other leave ~√ε·‖S‖ terms, as in any
 * float64 method. This is the quantity pytorch-fid gets from
 * `scipy.linalg.sqrtm(S₁·S₂)`, without its complex round-off.
 *
 * Cost at f = 2048: about 15–20 s single-threaded (see the package README).
 *
 * @param s1 - `[f, f]` row-major, symmetric PSD.
 * @param s2 - `[f, f]` row-major, symmetric PSD.
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, f: number): number {
  if (s1.length !== f * f || s2.length !== f * f) {
    throw new FarmerError('FARMER_E_SHAPE', `traceSqrtProduct: covariances have ${s1.length} and ${s2.length} values, expected ${f}·${f}`);
  }
  const f1 = psdFactor(s1, f);
  const f2 = psdFactor(s2, f);
  const [{ factor, rank: r, pivots }, other] = f2.rank < f1.rank ? [f2, s1] : [f1, s2];
  if (r === 0) return 0;
  // In pivot order F is lower-trapezoidal, so Fᵀ is upper-trapezoidal and the products skip its zeros.
  const ft = new Float64Array(r * f);
  for (let t = 0; t < f; t++) {
    const src = pivots[t] * r;
    for (let s = 0; s < r; s++) ft[s * f + t] = factor[src + s];
  }
  const sp = new Float64Array(f * f);
  for (let a = 0; a < f; a++) {
    const row = pivots[a] * f;
    for (let b = 0; b < f; b++) sp[a * f + b] = other[row + pivots[b]];
  }
  const p = gemmNT(ft, sp, r, f, f, new Float64Array(r * f), { aUpperTrapezoidal: true }); // Fᵀ·S [r, f]
  const m = gemmNT(p, ft, r, r, f, new Float64Array(r * r), { symmetric: true, bUpperTrapezoidal: true }); // Fᵀ·S·F [r, r]
  const { values } = symEigen(m, r, { vectors: false });
  let tr = 0;
  for (let i = 0; i < r; i++) tr += Math.sqrt(Math.max(values[i], 0));
  return tr;
}

/**
 * The Fréchet distance between N(μ₁, S₁) and N(μ₂, S₂) (Heusel et al. 2017):
 * ‖μ₁ − μ₂‖² + tr S₁ + tr S₂ − 2·tr((S₁^½·S₂·S₁^½)^½).
 *
 * Rounding can leave a tiny negative value for (nearly) identical inputs;
 * the result is clamped at 0.
 *
 * @param a - mean `[f]`, cov `[f, f]`.
 * @param b - mean `[f]`, cov `[f, f]`.
 */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  checkFeatureStats(a, 'a');
  checkFeatureStats(b, 'b');
  const f = a.dim;
  if (b.dim !== f) {
    throw new FarmerError('FARMER_E_SHAPE', `frechetDistance: statistics have dims ${f} and ${b.dim}; both must come from the same feature extractor`);
  }
  let meanTerm = 0;
  let traces = 0;
  for (let i = 0; i < f; i++) {
    const d = a.mean[i] - b.mean[i];
    meanTerm += d * d;
    traces += a.cov[i * f + i] + b.cov[i * f + i];
  }
  const cross = traceSqrtProduct(a.cov, b.cov, f);
  const dist = meanTerm + traces - 2 * cross;
  if (!Number.isFinite(dist)) {
    throw new FarmerError('FARMER_E_NON_FINITE', `frechetDistance is ${dist}; the statistics contain NaN/Infinity`);
  }
  return Math.max(dist, 0);
}

/**
 * FID between two feature sets: the Fréchet distance of their fitted Gaussians.
 *
 * @param x - `[n₁, f]`, n₁ ≥ 2.
 * @param y - `[n₂, f]`, n₂ ≥ 2.
 */
export function fid(x: FeatureMatrix, y: FeatureMatrix): number {
  checkFeatureMatrix(x, 'x', 2);
  checkFeatureMatrix(y, 'y', 2);
  if (x.dim !== y.dim) {
    throw new FarmerError('FARMER_E_SHAPE', `fid: feature dims differ (${x.dim} vs ${y.dim}); both sets must come from the same feature extractor`);
  }
  return frechetDistance(featureStats(x), featureStats(y));
}
