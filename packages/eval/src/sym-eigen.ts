import { FarmerError } from '@farmer/core';

/**
 * Symmetric eigendecomposition in float64: Householder reduction to
 * tridiagonal form, then the implicit QL algorithm with Wilkinson-style
 * shifts (EISPACK tred2/tql2, as in JAMA). O(n³), backward stable: the
 * eigenvalues carry absolute errors of order ε·‖A‖, also for singular
 * matrices. FID uses the eigenvalues-only path for its cross term.
 *
 * The working matrix W holds Vᵀ (row j = eigenvector j), so every inner loop
 * of both phases runs along a contiguous row of the row-major array.
 */

/** Eigenvalues (ascending) and, if requested, eigenvectors. */
export interface SymEigen {
  /** `[n]`, ascending. */
  values: Float64Array;
  /** `[n, n]` row-major; row j is the unit eigenvector of `values[j]`. Empty when not requested. */
  vectors: Float64Array;
}

/** Options for {@link symEigen}. */
export interface SymEigenOptions {
  /** Also return eigenvectors. Default true; eigenvalues alone cost about a quarter (n = 2048: ~9 s vs ~39 s). */
  vectors?: boolean;
}

/** QL sweeps allowed per eigenvalue before giving up. EISPACK uses 30. */
const MAX_SWEEPS = 60;

/**
 * Eigendecomposition of the symmetric matrix `a` = Vᵀ·diag(values)·V.
 * Only the lower triangle of `a` is read; `a` is not modified.
 *
 * @param a - `[n, n]` row-major, symmetric.
 * @param n - the matrix order.
 */
export function symEigen(a: Float64Array | Float32Array, n: number, opts: SymEigenOptions = {}): SymEigen {
  const wantVectors = opts.vectors ?? true;
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new FarmerError('FARMER_E_SHAPE', `symEigen: matrix has ${a.length} values, expected n·n for n = ${n}`);
  }
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      throw new FarmerError(
        'FARMER_E_NON_FINITE',
        `symEigen: matrix entry (${Math.floor(i / n)}, ${i % n}) is ${a[i]}; the features or covariance contain NaN/Infinity`,
      );
    }
  }
  if (n === 0) return { values: new Float64Array(0), vectors: new Float64Array(0) };
  // W = Vᵀ with V = a (lower triangle); a symmetric matrix is its own transpose.
  const w = Float64Array.from(a);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) w[j * n + i] = w[i * n + j];
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(w, n, d, e, wantVectors);
  tql2(w, n, d, e, wantVectors);
  return sortAscending(w, n, d, wantVectors);
}

/**
 * Householder tridiagonalisation (EISPACK tred2). On return d holds the
 * diagonal, e the sub-diagonal (e[0] = 0), and, if `vectors`, W = Qᵀ with
 * A = Q·T·Qᵀ. With V[r][c] ≡ W[c·n + r] the arithmetic is JAMA's tred2,
 * reordered: the rank-2 update of step i and the matrix-vector product of
 * step i−1 share one pass over the active triangle, which halves the passes
 * over memory in this phase, the costliest of the eigenvalues-only path.
 */
function tred2(w: Float64Array, n: number, d: Float64Array, e: Float64Array, vectors: boolean): void {
  if (n === 1) {
    d[0] = w[0];
    e[0] = 0;
    if (vectors) w[0] = 1;
    return;
  }
  const hs = new Float64Array(n);
  // (x, q): Householder vector and p − K·u of the current step; (x2, q2): of the next.
  let x = new Float64Array(n);
  let q = new Float64Array(n);
  let x2 = new Float64Array(n);
  let q2 = new Float64Array(n);
  for (let j = 0; j < n; j++) x[j] = w[j * n + (n - 1)];
  let h = householder(w, n, n - 1, x, q, e);
  if (h > 0) {
    matvec(w, n, n - 1, x, q);
    finishStep(n - 1, x, q, h);
  } else zeroStep(w, n, n - 1);
  hs[n - 1] = h;
  for (let i = n - 1; i >= 1; i--) {
    if (i === 1) {
      if (h > 0) rank2Update(w, n, 1, x, q);
      break;
    }
    // Row i−1 of the matrix as step i's update leaves it.
    const xi = x[i - 1];
    const qi = q[i - 1];
    for (let j = 0; j < i; j++) x2[j] = h > 0 ? w[j * n + (i - 1)] - (x[j] * qi + q[j] * xi) : w[j * n + (i - 1)];
    const h2 = householder(w, n, i - 1, x2, q2, e);
    if (h > 0 && h2 > 0) fusedPass(w, n, i, x, q, x2, q2);
    else {
      if (h > 0) rank2Update(w, n, i, x, q);
      if (h2 > 0) matvec(w, n, i - 1, x2, q2);
      else zeroStep(w, n, i - 1);
    }
    if (h2 > 0) finishStep(i - 1, x2, q2, h2);
    hs[i - 1] = h2;
    [x, x2] = [x2, x];
    [q, q2] = [q2, q];
    h = h2;
  }
  // JAMA keeps h of step i in d[i]; the accumulation below reads it there.
  for (let i = 1; i < n; i++) d[i] = hs[i];
  d[0] = w[0];
  if (vectors) {
    // Accumulate the transformations into Qᵀ.
    for (let i = 0; i < n - 1; i++) {
      const ri = i * n;
      w[ri + (n - 1)] = w[ri + i];
      w[ri + i] = 1;
      const h = d[i + 1];
      const r1 = (i + 1) * n;
      if (h !== 0) {
        for (let k = 0; k <= i; k++) d[k] = w[r1 + k] / h;
        for (let j = 0; j <= i; j++) {
          const rj = j * n;
          let g = 0;
          for (let k = 0; k <= i; k++) g += w[r1 + k] * w[rj + k];
          for (let k = 0; k <= i; k++) w[rj + k] -= g * d[k];
        }
      }
      for (let k = 0; k <= i; k++) w[r1 + k] = 0;
    }
    for (let j = 0; j < n; j++) {
      d[j] = w[j * n + (n - 1)];
      w[j * n + (n - 1)] = 0;
    }
    w[(n - 1) * n + (n - 1)] = 1;
  } else {
    // The accumulation above would have parked the diagonal of T in the last row.
    for (let j = 0; j < n; j++) d[j] = w[j * n + j];
  }
  e[0] = 0;
}

/**
 * Householder vector for step i from row i (x[0..i), scaled in place).
 * Writes e[i] (the sub-diagonal), stores the vector in row i of W for the
 * accumulation, zeroes q[0..i), and returns h; 0 means the row is already zero.
 */
function householder(w: Float64Array, n: number, i: number, x: Float64Array, q: Float64Array, e: Float64Array): number {
  let scale = 0;
  for (let k = 0; k < i; k++) scale += Math.abs(x[k]);
  if (scale === 0) {
    e[i] = x[i - 1];
    return 0;
  }
  let h = 0;
  for (let k = 0; k < i; k++) {
    x[k] /= scale;
    h += x[k] * x[k];
  }
  const f = x[i - 1];
  let g = Math.sqrt(h);
  if (f > 0) g = -g;
  e[i] = scale * g;
  h -= f * g;
  x[i - 1] = f - g;
  const ri = i * n;
  for (let j = 0; j < i; j++) {
    q[j] = 0;
    w[ri + j] = x[j];
  }
  return h;
}

/** q += A·x over the active triangle of step i (A = rows j < i, columns j..i−1 of W). */
function matvec(w: Float64Array, n: number, i: number, x: Float64Array, q: Float64Array): void {
  for (let j = 0; j < i; j++) {
    const rj = j * n;
    const f = x[j];
    let g = q[j] + w[rj + j] * f;
    for (let k = j + 1; k < i; k++) {
      const v = w[rj + k];
      g += v * x[k];
      q[k] += v * f;
    }
    q[j] = g;
  }
}

/** q ← p/h − (pᵀu / 2h²)·u: the vector of the rank-2 update A −= u·qᵀ + q·uᵀ. */
function finishStep(i: number, x: Float64Array, q: Float64Array, h: number): void {
  let f = 0;
  for (let j = 0; j < i; j++) {
    q[j] /= h;
    f += q[j] * x[j];
  }
  const hh = f / (h + h);
  for (let j = 0; j < i; j++) q[j] -= hh * x[j];
}

/** A −= x·qᵀ + q·xᵀ on the active triangle of step i, and clear column i. */
function rank2Update(w: Float64Array, n: number, i: number, x: Float64Array, q: Float64Array): void {
  for (let j = 0; j < i; j++) {
    const rj = j * n;
    const f = x[j];
    const g = q[j];
    for (let k = j; k < i; k++) w[rj + k] -= f * q[k] + g * x[k];
    w[rj + i] = 0;
  }
}

/**
 * rank2Update for step i and matvec for step i−1 in one pass over the
 * triangle. Two accumulators for the row sum break its add-latency chain.
 */
function fusedPass(w: Float64Array, n: number, i: number, x: Float64Array, q: Float64Array, x2: Float64Array, q2: Float64Array): void {
  const end = i - 1;
  for (let j = 0; j < end; j++) {
    const rj = j * n;
    const f = x[j];
    const g = q[j];
    const f2 = x2[j];
    const v = w[rj + j] - (f * q[j] + g * x[j]);
    w[rj + j] = v;
    let ga = q2[j] + v * f2;
    let gb = 0;
    let k = j + 1;
    for (; k + 1 < end; k += 2) {
      const va = w[rj + k] - (f * q[k] + g * x[k]);
      const vb = w[rj + k + 1] - (f * q[k + 1] + g * x[k + 1]);
      w[rj + k] = va;
      w[rj + k + 1] = vb;
      ga += va * x2[k];
      gb += vb * x2[k + 1];
      q2[k] += va * f2;
      q2[k + 1] += vb * f2;
    }
    if (k < end) {
      const va = w[rj + k] - (f * q[k] + g * x[k]);
      w[rj + k] = va;
      ga += va * x2[k];
      q2[k] += va * f2;
    }
    w[rj + end] -= f * q[end] + g * x[end];
    q2[j] = ga + gb;
    w[rj + i] = 0;
  }
  const r = end * n;
  w[r + end] -= x[end] * q[end] + q[end] * x[end];
  w[r + i] = 0;
}

/** Step i with a zero row: nothing to reduce; clear row and column i. */
function zeroStep(w: Float64Array, n: number, i: number): void {
  for (let j = 0; j < i; j++) {
    w[j * n + i] = 0;
    w[i * n + j] = 0;
  }
}

/**
 * Implicit QL on the tridiagonal (d, e) (EISPACK tql2). Rotations are applied
 * to rows of W, so W ends as the eigenvector rows.
 */
function tql2(w: Float64Array, n: number, d: Float64Array, e: Float64Array, vectors: boolean): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let sweeps = 0;
      do {
        if (++sweeps > MAX_SWEEPS) {
          throw new FarmerError('FARMER_E_INTERNAL', `symEigen: QL iteration did not converge for eigenvalue ${l} of ${n} after ${MAX_SWEEPS} sweeps`);
        }
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (vectors) {
            const ri = i * n;
            const r1 = ri + n;
            for (let k = 0; k < n; k++) {
              const hk = w[r1 + k];
              const wk = w[ri + k];
              w[r1 + k] = s * wk + c * hk;
              w[ri + k] = c * wk - s * hk;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

function sortAscending(w: Float64Array, n: number, d: Float64Array, vectors: boolean): SymEigen {
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x] - d[y]);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = d[order[i]];
  if (!vectors) return { values, vectors: new Float64Array(0) };
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out.set(w.subarray(order[i] * n, order[i] * n + n), i * n);
  return { values, vectors: out };
}
