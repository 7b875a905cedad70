import { Rng } from '@farmer/core';
import type { FeatureMatrix } from '../src/index.js';

/** `[count, dim]` standard normal features (float64) from a seeded generator. */
export function randomFeatures(count: number, dim: number, seed: number | string, scale = 1): FeatureMatrix {
  const z = new Rng(seed).normal(count * dim);
  const data = new Float64Array(count * dim);
  for (let i = 0; i < data.length; i++) data[i] = z[i] * scale;
  return { data, count, dim };
}

/** A random symmetric PSD matrix B·Bᵀ with B `[n, rank]`. */
export function randomPsd(n: number, rank: number, seed: number | string): Float64Array {
  const b = new Rng(seed).normal(n * rank);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < rank; t++) s += b[i * rank + t] * b[j * rank + t];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** A random orthogonal matrix `[n, n]` (Gram–Schmidt on Gaussian columns), row-major. */
export function randomOrthogonal(n: number, seed: number | string): Float64Array {
  const g = new Rng(seed).normal(n * n);
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const v = Float64Array.from(g.subarray(i * n, i * n + n));
    for (let j = 0; j < i; j++) {
      let d = 0;
      for (let t = 0; t < n; t++) d += v[t] * q[j * n + t];
      for (let t = 0; t < n; t++) v[t] -= d * q[j * n + t];
    }
    const norm = Math.hypot(...v);
    for (let t = 0; t < n; t++) q[i * n + t] = v[t] / norm;
  }
  return q;
}

/** Q·diag(d)·Qᵀ where the rows of `q` are the eigenvectors. */
export function fromEigen(q: Float64Array, d: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[k * n + i] * d[k] * q[k * n + j];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** |a − b| ≤ atol + rtol·|b|, with a message showing both. */
export function expectClose(a: number, b: number, rtol: number, atol = 0): void {
  if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
    throw new Error(`expected ${a} ≈ ${b} (|diff| ${Math.abs(a - b)}, rtol ${rtol}, atol ${atol})`);
  }
}
