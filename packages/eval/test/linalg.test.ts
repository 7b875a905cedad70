import { isFarmerError, Rng } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { gemmNT } from '../src/gemm.js';
import { psdFactor, symEigen } from '../src/index.js';
import { maxAbsDiff } from '@farmer/test-utils';
import { fromEigen, randomOrthogonal, randomPsd } from './helpers.js';

function naiveNT(a: Float64Array, b: Float64Array, m: number, n: number, k: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) c[i * n + j] += a[i * k + t] * b[j * k + t];
  return c;
}

function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  return Float64Array.from(new Rng(seed).normal(rows * cols));
}

describe('gemmNT', () => {
  it('matches the naive product on odd shapes, with accumulate, symmetric and trapezoidal options', () => {
    for (const [m, n, k] of [
      [1, 1, 1],
      [5, 7, 3],
      [9, 6, 300],
      [70, 67, 513],
    ]) {
      const a = randomMatrix(m, k, m + n);
      const b = randomMatrix(n, k, k);
      const want = naiveNT(a, b, m, n, k);
      expect(maxAbsDiff(gemmNT(a, b, m, n, k, new Float64Array(m * n)), want)).toBeLessThan(1e-12);
      const acc = new Float64Array(m * n).fill(1);
      gemmNT(a, b, m, n, k, acc, { accumulate: true });
      expect(maxAbsDiff(acc, want.map((v) => v + 1))).toBeLessThan(1e-12);
      const sym = gemmNT(a, a, m, m, k, new Float64Array(m * m), { symmetric: true });
      expect(maxAbsDiff(sym, naiveNT(a, a, m, m, k))).toBeLessThan(1e-12);
    }
    // Upper-trapezoidal operands: row r zero before column r.
    const [m, n, k] = [13, 11, 17];
    const a = randomMatrix(m, k, 1);
    const b = randomMatrix(n, k, 2);
    for (let r = 0; r < m; r++) for (let t = 0; t < Math.min(r, k); t++) a[r * k + t] = 0;
    for (let r = 0; r < n; r++) for (let t = 0; t < Math.min(r, k); t++) b[r * k + t] = 0;
    const want = naiveNT(a, b, m, n, k);
    const got = gemmNT(a, b, m, n, k, new Float64Array(m * n), { aUpperTrapezoidal: true, bUpperTrapezoidal: true });
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-12);
  });

  it('rejects a symmetric product that is not square and short operands', () => {
    const a = new Float64Array(6);
    expect(() => gemmNT(a, a, 2, 3, 1, new Float64Array(6), { symmetric: true })).toThrow(RangeError);
    expect(() => gemmNT(a, a, 4, 4, 2, new Float64Array(16))).toThrow(RangeError);
  });
});

describe('symEigen', () => {
  it('recovers a known spectrum and orthonormal eigenvectors', () => {
    const n = 40;
    const q = randomOrthogonal(n, 'q');
    const d = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : (i - 20) / 3)); // repeated zeros, negatives
    const a = fromEigen(q, d, n);
    const { values, vectors } = symEigen(a, n);
    expect(maxAbsDiff(values, [...d].sort((x, y) => x - y))).toBeLessThan(1e-12);
    // A·v = λ·v and VᵀV = I.
    let resid = 0;
    let orth = 0;
    for (let j = 0; j < n; j++) {
      for (let r = 0; r < n; r++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[r * n + k] * vectors[j * n + k];
        resid = Math.max(resid, Math.abs(s - values[j] * vectors[j * n + r]));
      }
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += vectors[i * n + k] * vectors[j * n + k];
        orth = Math.max(orth, Math.abs(s - (i === j ? 1 : 0)));
      }
    }
    expect(resid).toBeLessThan(1e-12);
    expect(orth).toBeLessThan(1e-12);
  });

  it('gives the same eigenvalues with and without vectors, reading only the lower triangle', () => {
    const n = 33;
    const a = randomPsd(n, 5, 'low-rank');
    const full = symEigen(a, n).values;
    const upperGarbage = Float64Array.from(a);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) upperGarbage[i * n + j] = 1e9;
    const only = symEigen(upperGarbage, n, { vectors: false });
    expect(only.vectors.length).toBe(0);
    expect(maxAbsDiff(full, only.values)).toBeLessThan(1e-10);
    // Rank 5: 28 eigenvalues are zero up to rounding, the rest positive.
    expect(Math.max(...Array.from(full.subarray(0, n - 5), Math.abs))).toBeLessThan(1e-12 * full[n - 1]);
    expect(full[n - 5]).toBeGreaterThan(0.1);
  });

  it('handles the zero matrix, 1×1 and 0×0', () => {
    expect(Array.from(symEigen(new Float64Array(9), 3).values)).toEqual([0, 0, 0]);
    expect(Array.from(symEigen(new Float64Array([4]), 1).vectors)).toEqual([1]);
    expect(symEigen(new Float64Array(0), 0).values.length).toBe(0);
  });

  it('refuses NaN and a wrong size with coded errors', () => {
    const a = new Float64Array([1, NaN, NaN, 1]);
    expect(() => symEigen(a, 2)).toThrow(expect.objectContaining({ code: 'FARMER_E_NON_FINITE' }));
    try {
      symEigen(new Float64Array(5), 2);
      expect.unreachable();
    } catch (e) {
      expect(isFarmerError(e, 'FARMER_E_SHAPE')).toBe(true);
    }
  });
});

describe('psdFactor', () => {
  it('reconstructs a full-rank matrix and reports rank of a singular one', () => {
    for (const [n, rank] of [
      [20, 20],
      [30, 7],
      [16, 1],
    ]) {
      const a = randomPsd(n, rank, `psd-${n}-${rank}`);
      const f = psdFactor(a, n);
      expect(f.rank).toBe(rank);
      const back = naiveNT(f.factor, f.factor, n, n, f.rank);
      expect(maxAbsDiff(back, a) / Math.max(...a)).toBeLessThan(1e-12);
      // In pivot order the factor is lower-trapezoidal.
      for (let t = 0; t < n; t++) for (let s = t + 1; s < f.rank; s++) expect(f.factor[f.pivots[t] * f.rank + s]).toBe(0);
      expect([...f.pivots].sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
  });

  it('returns rank 0 for the zero matrix', () => {
    expect(psdFactor(new Float64Array(16), 4).rank).toBe(0);
  });
});
