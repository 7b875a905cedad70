import { FarmerError, Rng } from '@farmer/core';
import { checkFeatureMatrix, checkFinite, gatherRows, type FeatureMatrix } from './feature-matrix.js';
import { gemmNT } from './gemm.js';

/** Options for {@link kid}. Defaults follow torch-fidelity. */
export interface KidOptions {
  /** Number of random subset pairs. Default 100. */
  subsets?: number;
  /** Rows per subset, capped by the smaller set. Default 1000. */
  subsetSize?: number;
  /** Seed of the subset draws. Default 0. */
  seed?: number | string;
}

/** One pair of row subsets, equal sizes, each drawn without replacement. */
export interface KidSubset {
  /** `[m]` row indices into x. */
  x: Int32Array;
  /** `[m]` row indices into y. */
  y: Int32Array;
}

/** KID as mean ± std over subsets. */
export interface KidResult {
  /** Mean of the per-subset unbiased MMD² estimates. */
  mean: number;
  /** Population standard deviation (ddof 0, as torch-fidelity) of those estimates. */
  std: number;
  /** `[subsets]`: the per-subset estimates. */
  values: Float64Array;
  /** Rows per subset actually used. */
  subsetSize: number;
}

/**
 * Draws `subsets` pairs of row subsets of size m = min(subsetSize, nx, ny),
 * each without replacement, from a seeded generator.
 */
export function drawKidSubsets(nx: number, ny: number, opts: KidOptions = {}): KidSubset[] {
  const subsets = opts.subsets ?? 100;
  const size = opts.subsetSize ?? 1000;
  if (!Number.isInteger(subsets) || subsets < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `kid: subsets must be a positive integer, got ${subsets}`, { field: 'subsets' });
  if (!Number.isInteger(size) || size < 2) throw new FarmerError('FARMER_E_BAD_INPUT', `kid: subsetSize must be an integer ≥ 2, got ${size}`, { field: 'subsetSize' });
  const m = Math.min(size, nx, ny);
  if (m < 2) throw new FarmerError('FARMER_E_BAD_INPUT', `kid: both sets need at least 2 rows, got ${nx} and ${ny}`);
  const rng = new Rng(opts.seed ?? 0);
  const out: KidSubset[] = [];
  for (let s = 0; s < subsets; s++) out.push({ x: rng.permutation(nx).slice(0, m), y: rng.permutation(ny).slice(0, m) });
  return out;
}

/**
 * Unbiased MMD² between equal-size samples under the polynomial kernel
 * k(a, b) = (aᵀb/f + 1)³ (Bińkowski et al. 2018, as torch-fidelity):
 * [Σ_{i≠j} k(xᵢ,xⱼ) + Σ_{i≠j} k(yᵢ,yⱼ)] / (m(m−1)) − 2·Σ_{i,j} k(xᵢ,yⱼ) / m².
 *
 * @param xs - `[m, f]` float64.
 * @param ys - `[m, f]` float64.
 */
export function polynomialMmd2(xs: Float64Array, ys: Float64Array, m: number, f: number): number {
  const gram = new Float64Array(m * m);
  const sumOffDiag = (a: Float64Array): number => {
    gemmNT(a, a, m, m, f, gram, { symmetric: true });
    let s = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) if (i !== j) s += cubicKernel(gram[i * m + j], f);
    }
    return s;
  };
  const kxx = sumOffDiag(xs);
  const kyy = sumOffDiag(ys);
  gemmNT(xs, ys, m, m, f, gram);
  let kxy = 0;
  for (let i = 0; i < m * m; i++) kxy += cubicKernel(gram[i], f);
  return (kxx + kyy) / (m * (m - 1)) - (2 * kxy) / (m * m);
}

function cubicKernel(dot: number, f: number): number {
  const t = dot / f + 1;
  return t * t * t;
}

/**
 * KID on given subsets: the unbiased polynomial-kernel MMD² of each pair of
 * subsets, reported as mean ± std. Use {@link kid} to draw the subsets.
 *
 * @param x - `[n₁, f]`.
 * @param y - `[n₂, f]`.
 */
export function kidOnSubsets(x: FeatureMatrix, y: FeatureMatrix, subsets: readonly KidSubset[]): KidResult {
  checkKidInputs(x, y);
  if (subsets.length === 0) throw new FarmerError('FARMER_E_BAD_INPUT', 'kid: no subsets given');
  const m = subsets[0].x.length;
  const values = new Float64Array(subsets.length);
  subsets.forEach((s, i) => {
    if (s.x.length !== m || s.y.length !== m) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `kid: subset ${i} has sizes ${s.x.length} and ${s.y.length}; every subset must have ${m} rows on both sides`);
    }
    values[i] = polynomialMmd2(gatherRows(x, s.x), gatherRows(y, s.y), m, x.dim);
  });
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let v2 = 0;
  for (const v of values) v2 += (v - mean) ** 2;
  return { mean, std: Math.sqrt(v2 / values.length), values, subsetSize: m };
}

/**
 * Kernel Inception Distance: mean ± std of the unbiased MMD² with kernel
 * (aᵀb/f + 1)³ over seeded random subsets (default 100 of 1000 rows, capped
 * by the set sizes). Cost per subset about 2·m²·f multiply-adds.
 *
 * @param x - `[n₁, f]`, e.g. real features.
 * @param y - `[n₂, f]`, e.g. generated features.
 */
export function kid(x: FeatureMatrix, y: FeatureMatrix, opts: KidOptions = {}): KidResult {
  checkFeatureMatrix(x, 'x', 2);
  checkFeatureMatrix(y, 'y', 2);
  return kidOnSubsets(x, y, drawKidSubsets(x.count, y.count, opts));
}

function checkKidInputs(x: FeatureMatrix, y: FeatureMatrix): void {
  checkFeatureMatrix(x, 'x', 2);
  checkFeatureMatrix(y, 'y', 2);
  if (x.dim !== y.dim) throw new FarmerError('FARMER_E_SHAPE', `kid: feature dims differ (${x.dim} vs ${y.dim}); both sets must come from the same feature extractor`);
  checkFinite(x, 'x');
  checkFinite(y, 'y');
}
