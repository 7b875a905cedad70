import { FarmerError } from '@farmer/core';
import { checkFeatureMatrix, checkFinite, rowsAsFloat64, type FeatureMatrix } from './feature-matrix.js';
import { gemmNT } from './gemm.js';

/** Options for {@link precisionRecall}. */
export interface PrecisionRecallOptions {
  /** Neighbourhood size: a point's radius is the distance to its k-th nearest neighbour. Default 3. */
  k?: number;
  /**
   * Rows per block of the pairwise distance matrix. Memory is about
   * chunkSize·(chunkSize + 2·dim)·8 bytes. Default 1024.
   */
  chunkSize?: number;
}

/** Improved precision and recall, fractions in [0, 1]. */
export interface PrecisionRecallResult {
  /** Fraction of generated points inside the real manifold. */
  precision: number;
  /** Fraction of real points inside the generated manifold. */
  recall: number;
  k: number;
}

/**
 * Calls `fn` with blocks of squared Euclidean distances between rows of `a`
 * and rows of `b`, ‖aᵢ‖² + ‖bⱼ‖² − 2·aᵢᵀbⱼ in float64 (clamped at 0).
 * `block` is `[i1 − i0, j1 − j0]` row-major and is reused between calls.
 * With `upperOnly` (a and b the same set) only blocks with j0 ≥ i0 are visited.
 * `fn` returns false to skip the rest of the current row block.
 */
function forEachDistanceBlock(
  a: FeatureMatrix,
  b: FeatureMatrix,
  chunk: number,
  upperOnly: boolean,
  fn: (i0: number, i1: number, j0: number, j1: number, block: Float64Array) => boolean | void,
): void {
  const f = a.dim;
  const normsB = rowNorms(b);
  const normsA = a === b ? normsB : rowNorms(a);
  const bufA = new Float64Array(chunk * f);
  const bufB = new Float64Array(chunk * f);
  const block = new Float64Array(chunk * chunk);
  for (let i0 = 0; i0 < a.count; i0 += chunk) {
    const i1 = Math.min(i0 + chunk, a.count);
    const ra = rowsAsFloat64(a, i0, i1, bufA);
    for (let j0 = upperOnly ? i0 : 0; j0 < b.count; j0 += chunk) {
      const j1 = Math.min(j0 + chunk, b.count);
      const rb = rowsAsFloat64(b, j0, j1, bufB);
      const ni = i1 - i0;
      const nj = j1 - j0;
      const d = block.subarray(0, ni * nj);
      gemmNT(ra, rb, ni, nj, f, d);
      for (let i = 0; i < ni; i++) {
        const na = normsA[i0 + i];
        for (let j = 0; j < nj; j++) d[i * nj + j] = Math.max(na + normsB[j0 + j] - 2 * d[i * nj + j], 0);
      }
      if (fn(i0, i1, j0, j1, d) === false) break;
    }
  }
}

function rowNorms(x: FeatureMatrix): Float64Array {
  const out = new Float64Array(x.count);
  const f = x.dim;
  for (let r = 0; r < x.count; r++) {
    let s = 0;
    for (let t = 0; t < f; t++) s += x.data[r * f + t] ** 2;
    out[r] = s;
  }
  return out;
}

/**
 * Squared k-NN radii: for each row, the squared distance to its k-th nearest
 * other row of the same set (itself excluded by index).
 *
 * @param x - `[n, f]`, n > k.
 * @returns `[n]` squared radii.
 */
export function knnRadii(x: FeatureMatrix, k = 3, chunkSize = 1024): Float64Array {
  checkFeatureMatrix(x, 'x', k + 1);
  checkK(k);
  const n = x.count;
  // Per row, its k smallest squared distances so far, ascending.
  const best = new Float64Array(n * k).fill(Infinity);
  const offer = (row: number, d: number): void => {
    const base = row * k;
    if (d >= best[base + k - 1]) return;
    let p = k - 1;
    while (p > 0 && best[base + p - 1] > d) {
      best[base + p] = best[base + p - 1];
      p--;
    }
    best[base + p] = d;
  };
  // Distances are symmetric: each off-diagonal block serves its rows and its columns.
  forEachDistanceBlock(x, x, chunkSize, true, (i0, i1, j0, j1, d) => {
    const nj = j1 - j0;
    for (let i = i0; i < i1; i++) {
      for (let j = j0; j < j1; j++) {
        if (i === j) continue;
        const v = d[(i - i0) * nj + (j - j0)];
        offer(i, v);
        if (j0 !== i0) offer(j, v);
      }
    }
  });
  const radii = new Float64Array(n);
  for (let i = 0; i < n; i++) radii[i] = best[i * k + k - 1];
  return radii;
}

/**
 * The fraction of `points` that fall inside at least one ball of the
 * manifold: ‖p − mⱼ‖² ≤ radiiSq[j] for some row mⱼ of `manifold`.
 *
 * @param points - `[n, f]`.
 * @param manifold - `[m, f]`.
 * @param radiiSq - `[m]` squared radii, from {@link knnRadii}.
 */
export function manifoldCoverage(points: FeatureMatrix, manifold: FeatureMatrix, radiiSq: Float64Array, chunkSize = 1024): number {
  checkFeatureMatrix(points, 'points', 1);
  checkFeatureMatrix(manifold, 'manifold', 1);
  if (radiiSq.length !== manifold.count) {
    throw new FarmerError('FARMER_E_SHAPE', `manifoldCoverage: ${radiiSq.length} radii for ${manifold.count} manifold points`);
  }
  const inside = new Uint8Array(points.count);
  let open = 0;
  forEachDistanceBlock(points, manifold, chunkSize, false, (i0, i1, j0, j1, d) => {
    if (j0 === 0) open = i1 - i0;
    const nj = j1 - j0;
    for (let i = i0; i < i1; i++) {
      if (inside[i]) continue;
      const row = (i - i0) * nj;
      for (let j = 0; j < nj; j++) {
        if (d[row + j] <= radiiSq[j0 + j]) {
          inside[i] = 1;
          open--;
          break;
        }
      }
    }
    // Every point of this row block is placed: skip the remaining manifold blocks.
    return open > 0;
  });
  let count = 0;
  for (const v of inside) count += v;
  return count / points.count;
}

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019). Each real point
 * gets a ball reaching its k-th nearest real neighbour; precision is the
 * fraction of generated points inside some real ball. Recall swaps the roles.
 * Distances are Euclidean in feature space, computed in float64 blocks of
 * `chunkSize` rows, so 10k × 10k sets need no 10k² matrix. Cost at most
 * (n_r² + n_g²)·f/2 + 2·n_r·n_g·f multiply-adds; the coverage passes stop a
 * row block early once all its points are placed.
 *
 * @param real - `[n_r, f]`, n_r > k.
 * @param fake - `[n_g, f]`, n_g > k.
 */
export function precisionRecall(real: FeatureMatrix, fake: FeatureMatrix, opts: PrecisionRecallOptions = {}): PrecisionRecallResult {
  const k = opts.k ?? 3;
  const chunk = opts.chunkSize ?? 1024;
  checkK(k);
  if (!Number.isInteger(chunk) || chunk < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `precisionRecall: chunkSize must be a positive integer, got ${chunk}`, { field: 'chunkSize' });
  checkFeatureMatrix(real, 'real', k + 1);
  checkFeatureMatrix(fake, 'fake', k + 1);
  if (real.dim !== fake.dim) {
    throw new FarmerError('FARMER_E_SHAPE', `precisionRecall: feature dims differ (${real.dim} vs ${fake.dim}); both sets must come from the same feature extractor`);
  }
  checkFinite(real, 'real');
  checkFinite(fake, 'fake');
  const realRadii = knnRadii(real, k, chunk);
  const fakeRadii = knnRadii(fake, k, chunk);
  return {
    precision: manifoldCoverage(fake, real, realRadii, chunk),
    recall: manifoldCoverage(real, fake, fakeRadii, chunk),
    k,
  };
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `precisionRecall: k must be a positive integer, got ${k}`, { field: 'k' });
}
