import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('gives identical draws for the same seed and different ones otherwise', () => {
    expect(new Rng(42).normal(100)).toEqual(new Rng(42).normal(100));
    expect(new Rng('data').uniform(50)).toEqual(new Rng('data').uniform(50));
    expect(new Rng(42).uniform(10)).not.toEqual(new Rng(43).uniform(10));
    expect(new Rng(2 ** 40).uniform(10)).not.toEqual(new Rng(0).uniform(10));
  });

  it('restores its state exactly', () => {
    const a = new Rng(5);
    a.normal(13);
    const s = a.state();
    const b = Rng.fromState(JSON.parse(JSON.stringify(s)));
    expect(b.normal(20)).toEqual(a.normal(20));
    expect(() => Rng.fromState({ s: [1, 2] } as never)).toThrow(/RNG state/);
  });

  it('draws uniform and normal values with the right moments', () => {
    const n = 200_000;
    const u = new Rng(1).uniform(n, -1, 3);
    const mu = u.reduce((a, b) => a + b, 0) / n;
    expect(u.every((v) => v >= -1 && v < 3)).toBe(true);
    expect(mu).toBeCloseTo(1, 1.5);
    const z = new Rng(2).normal(n, 0, 2);
    const m = z.reduce((a, b) => a + b, 0) / n;
    const v = z.reduce((a, b) => a + (b - m) ** 2, 0) / n;
    // Standard errors: mean 2/sqrt(n) ≈ 0.0045, variance ≈ 4·sqrt(2/n) ≈ 0.0126.
    expect(Math.abs(m)).toBeLessThan(0.02);
    expect(Math.abs(v - 4)).toBeLessThan(0.06);
  });

  it('samples categories with frequencies softmax(logits / T)', () => {
    const logits = [0, 1, 2, -1];
    const rows = 40_000;
    const flat = new Float32Array(rows * 4);
    for (let r = 0; r < rows; r++) flat.set(logits, r * 4);
    for (const T of [1, 2]) {
      const draws = new Rng(9).categorical(flat, rows, 4, T);
      const counts = [0, 0, 0, 0];
      draws.forEach((k) => counts[k]++);
      const w = logits.map((l) => Math.exp(l / T));
      const z = w.reduce((a, b) => a + b, 0);
      for (let k = 0; k < 4; k++) {
        const p = w[k] / z;
        const se = Math.sqrt((p * (1 - p)) / rows);
        expect(Math.abs(counts[k] / rows - p)).toBeLessThan(5 * se);
      }
    }
  });

  it('handles extreme logits and rejects rows without a finite one', () => {
    const r = new Rng(3);
    expect(Array.from(r.categorical([1e30, 0, -1e30], 1, 3))).toEqual([0]);
    expect(Array.from(r.categorical([-Infinity, 5, -Infinity], 1, 3))).toEqual([1]);
    expect(() => r.categorical([NaN, NaN], 1, 2)).toThrow(/no finite logit/);
    expect(() => r.categorical([0, 0], 1, 2, 0)).toThrow(/temperature/);
    expect(() => r.categorical([0, 0, 0], 1, 2)).toThrow(/expected rows/);
  });

  it('makes permutations of 0..n-1', () => {
    const p = new Rng(4).permutation(1000);
    expect([...p].sort((a, b) => a - b)).toEqual([...Array(1000).keys()]);
    expect(p).not.toEqual(Int32Array.from([...Array(1000).keys()]));
  });

  it('rejects seeds that are not safe integers', () => {
    expect(() => new Rng(1.5)).toThrow(/seed/);
  });
});
