import { describe, expect, it } from 'vitest';
import { knnRadii, manifoldCoverage, precisionRecall } from '../src/index.js';
import { randomFeatures } from './helpers.js';

function bruteRadii(x: { data: ArrayLike<number>; count: number; dim: number }, k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.count; i++) {
    const d: number[] = [];
    for (let j = 0; j < x.count; j++) {
      if (i === j) continue;
      let s = 0;
      for (let t = 0; t < x.dim; t++) s += (x.data[i * x.dim + t] - x.data[j * x.dim + t]) ** 2;
      d.push(s);
    }
    out.push(d.sort((a, b) => a - b)[k - 1]);
  }
  return out;
}

describe('precision and recall', () => {
  it('k-NN radii match brute force for any block size', () => {
    const x = randomFeatures(57, 5, 'radii');
    const want = bruteRadii(x, 3);
    for (const chunk of [1, 4, 16, 1024]) {
      const got = knnRadii(x, 3, chunk);
      for (let i = 0; i < x.count; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-12 * want[i]);
    }
  });

  it('is 1/1 for a set against itself and drops for a shifted, shrunk set', () => {
    const x = randomFeatures(200, 4, 'pr');
    expect(precisionRecall(x, x)).toEqual({ precision: 1, recall: 1, k: 3 });
    const y = randomFeatures(150, 4, 'pr-y', 0.3);
    for (let i = 0; i < y.data.length; i += 4) y.data[i] += 2;
    const got = precisionRecall(x, y, { chunkSize: 33 });
    // A tight cluster at the edge of x: mostly inside x's balls (high precision), covering little of x (low recall).
    expect(got.precision).toBeGreaterThan(0.5);
    expect(got.recall).toBeLessThan(0.2);
    expect(precisionRecall(x, y, { chunkSize: 1000 })).toEqual(got);
  });

  it('coverage counts points on a ball boundary as inside', () => {
    const manifold = { data: new Float64Array([0, 0]), count: 1, dim: 2 };
    const points = { data: new Float64Array([3, 4, 3, 4.0001]), count: 2, dim: 2 };
    expect(manifoldCoverage(points, manifold, new Float64Array([25]))).toBe(0.5);
  });

  it('needs more than k points per set', () => {
    const x = randomFeatures(3, 2, 1);
    expect(() => precisionRecall(x, randomFeatures(10, 2, 2))).toThrow(/at least 4 rows/);
  });
});
