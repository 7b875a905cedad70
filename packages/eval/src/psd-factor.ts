import { FarmerError } from '@farmer/core';
import { dot } from './gemm.js';

/** A rank-revealing factor F of a symmetric PSD matrix: A ≈ F·Fᵀ. */
export interface PsdFactor {
  /** `[n, rank]` row-major; row i belongs to variable i of A (no permutation to undo). */
  factor: Float64Array;
  /** Numerical rank: the number of pivots above the tolerance. */
  rank: number;
  /**
   * `[n]`: the variables in pivot order, pivots first, then the rest in index
   * order. Rows of `factor` taken in this order form a lower-trapezoidal matrix.
   */
  pivots: Int32Array;
  /** Matrix order n. */
  n: number;
}

/** Options for {@link psdFactor}. */
export interface PsdFactorOptions {
  /**
   * Stop when the largest remaining diagonal is ≤ tol. Default, as LAPACK
   * dpstrf: n·ε·max(diag A).
   */
  tol?: number;
}

/**
 * Cholesky factorisation with complete (diagonal) pivoting of a symmetric
 * positive semi-definite matrix, stopped at its numerical rank (LAPACK
 * dpstrf's algorithm, left-looking). Unlike plain Cholesky it does not fail on
 * a singular covariance (n samples < f features): the directions the data do
 * not span get no column at all, instead of columns of rounding noise.
 *
 * Only the lower triangle of `a` is read. Cost about n·rank²/2 multiply-adds.
 *
 * @param a - `[n, n]` row-major, symmetric PSD.
 */
export function psdFactor(a: Float64Array, n: number, opts: PsdFactorOptions = {}): PsdFactor {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new FarmerError('FARMER_E_SHAPE', `psdFactor: matrix has ${a.length} values, expected n·n for n = ${n}`);
  }
  // Remaining diagonal d[i] = A[i][i] − Σ_t L[i][t]², updated as columns are added.
  const d = new Float64Array(n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    d[i] = a[i * n + i];
    if (!Number.isFinite(d[i])) {
      throw new FarmerError('FARMER_E_NON_FINITE', `psdFactor: diagonal entry ${i} is ${d[i]}; the features or covariance contain NaN/Infinity`);
    }
    maxDiag = Math.max(maxDiag, d[i]);
  }
  const tol = opts.tol ?? n * 2 ** -52 * maxDiag;
  // Work in a full-width buffer [n, n]: row i holds L[i][0..rank), filled left to right.
  const work = new Float64Array(n * n);
  const done = new Uint8Array(n);
  const pivots = new Int32Array(n);
  let rank = 0;
  for (let j = 0; j < n; j++) {
    let p = -1;
    let best = tol;
    for (let i = 0; i < n; i++) {
      if (!done[i] && d[i] > best) {
        best = d[i];
        p = i;
      }
    }
    if (p < 0) break;
    done[p] = 1;
    pivots[j] = p;
    const pivot = Math.sqrt(d[p]);
    work[p * n + j] = pivot;
    const rp = p * n;
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const ri = i * n;
      // A is read from its lower triangle.
      const aip = i > p ? a[ri + p] : a[rp + i];
      const v = (aip - dot(work, ri, work, rp, j)) / pivot;
      work[ri + j] = v;
      d[i] -= v * v;
    }
    rank = j + 1;
  }
  const factor = new Float64Array(n * rank);
  for (let i = 0; i < n; i++) factor.set(work.subarray(i * n, i * n + rank), i * rank);
  let next = rank;
  for (let i = 0; i < n; i++) if (!done[i]) pivots[next++] = i;
  return { factor, rank, n, pivots };
}
