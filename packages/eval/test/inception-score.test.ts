import { describe, expect, it } from 'vitest';
import { inceptionScore, softmaxRows } from '../src/index.js';
import { expectClose } from './helpers.js';

describe('Inception Score', () => {
  it('is 1 when every prediction is the same', () => {
    const p = [0.1, 0.6, 0.3];
    const n = 50;
    const data = new Float64Array(n * 3).map((_, i) => p[i % 3]);
    const got = inceptionScore({ data, count: n, dim: 3 }, { splits: 5 });
    expectClose(got.mean, 1, 0, 1e-14);
    expect(got.std).toBeLessThan(1e-14);
  });

  it('equals the class count for confident predictions spread uniformly over classes', () => {
    const c = 10;
    const n = 200; // each split of 20 holds every class twice
    const data = new Float32Array(n * c);
    for (let r = 0; r < n; r++) data[r * c + (r % c)] = 1;
    const got = inceptionScore({ data, count: n, dim: c });
    expectClose(got.mean, c, 1e-14);
    expect(got.scores.length).toBe(10);
    expect(got.std).toBeLessThan(1e-12);
  });

  it('splits rows contiguously at floor(i·n/splits)', () => {
    // 7 rows in 2 splits: rows 0–2 confident on 3 classes (IS 3), rows 3–6 identical (IS 1).
    const rows = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [0.2, 0.3, 0.5],
      [0.2, 0.3, 0.5],
      [0.2, 0.3, 0.5],
      [0.2, 0.3, 0.5],
    ];
    const got = inceptionScore({ data: Float64Array.from(rows.flat()), count: 7, dim: 3 }, { splits: 2 });
    expectClose(got.scores[0], 3, 1e-14);
    expectClose(got.scores[1], 1, 0, 1e-14);
    expectClose(got.mean, 2, 1e-14);
    expectClose(got.std, 1, 1e-14);
  });

  it('refuses logits and too few rows, and softmaxRows turns logits into probabilities', () => {
    const logits = { data: new Float64Array([2, -1, 0.5, 1000, 1000, -1000]), count: 2, dim: 3 };
    expect(() => inceptionScore(logits, { splits: 1 })).toThrow(/probabilities/);
    expect(() => inceptionScore(softmaxRows(logits), { splits: 3 })).toThrow(/at least 3 rows/);
    const p = softmaxRows(logits);
    expectClose(p.data[3], 0.5, 1e-15);
    expect(p.data[5]).toBe(0);
    expect(inceptionScore(p, { splits: 1 }).mean).toBeGreaterThan(1);
  });
});
