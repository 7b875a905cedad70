import type { AdamWOptions } from './engine.js';

/**
 * One AdamW update of one parameter, in place, fused into a single pass
 * over host arrays (docs/method.md §6.2 AdamW): with g ← scale·g,
 * m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g²,
 * p ← p − lr·(m/c1 / (√(v/c2) + ε) + λ·p), c_k = 1 − β_k^t. Decay applies to
 * parameters of rank ≥ 2 only (`decay`). Arrays hold float32, as on a tfjs
 * backend, so each stored value is rounded once per update.
 */
export function adamwUpdate(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  o: AdamWOptions & { lr: number; scale: number; step: number; decay: boolean },
): void {
  const { beta1: b1, beta2: b2, eps, lr, scale } = o;
  const c1 = 1 - b1 ** o.step;
  const c2 = 1 - b2 ** o.step;
  const wd = o.decay ? o.weightDecay : 0;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] * scale;
    const mi = (m[i] = b1 * m[i] + (1 - b1) * gi);
    const vi = (v[i] = b2 * v[i] + (1 - b2) * gi * gi);
    p[i] -= lr * (mi / c1 / (Math.sqrt(vi / c2) + eps) + wd * p[i]);
  }
}

/** One EMA update of one parameter, in place: e ← d·e + (1 − d)·p (docs/method.md §6.5 EMA). */
export function emaUpdate(e: Float32Array, p: Float32Array, d: number): void {
  for (let i = 0; i < e.length; i++) e[i] = d * e[i] + (1 - d) * p[i];
}

/** √Σ g² over every array, accumulated in float64 (NaN/Inf propagate), docs/method.md §6.4 gradient clipping. */
export function hostGlobalNorm(grads: Float32Array[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}
