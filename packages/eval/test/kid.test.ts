import { describe, expect, it } from 'vitest';
import { drawKidSubsets, kid, kidOnSubsets, polynomialMmd2 } from '../src/index.js';
import { expectClose, randomFeatures } from './helpers.js';

describe('KID', () => {
  it('draws seeded subsets without replacement, capped by the set sizes', () => {
    const a = drawKidSubsets(50, 80, { subsets: 4, subsetSize: 1000, seed: 7 });
    const b = drawKidSubsets(50, 80, { subsets: 4, subsetSize: 1000, seed: 7 });
    expect(a).toEqual(b);
    expect(a).toHaveLength(4);
    for (const s of a) {
      expect(s.x.length).toBe(50);
      expect(s.y.length).toBe(50);
      expect(new Set(s.y).size).toBe(50);
      expect(Math.max(...s.y)).toBeLessThan(80);
    }
    expect(drawKidSubsets(50, 80, { subsets: 1, seed: 8 })[0].y).not.toEqual(a[0].y);
  });

  it('is near 0 (unbiased) for two samples of one distribution and positive for shifted ones', () => {
    const x = randomFeatures(400, 8, 'kid-x');
    const same = kid(x, randomFeatures(400, 8, 'kid-y'), { subsets: 20, subsetSize: 200 });
    expect(Math.abs(same.mean)).toBeLessThan(3 * same.std + 1e-3);
    const shifted = randomFeatures(400, 8, 'kid-z');
    for (let i = 0; i < shifted.data.length; i++) shifted.data[i] += 1;
    const far = kid(x, shifted, { subsets: 20, subsetSize: 200 });
    expect(far.mean).toBeGreaterThan(10 * far.std);
    expect(far.values.length).toBe(20);
  });

  it('matches the estimator written out by hand on a tiny example', () => {
    const xs = new Float64Array([1, 0, 0, 1, 1, 1]); // 3 points in 2-D
    const ys = new Float64Array([0, 0, 2, 0, -1, 1]);
    const k = (a: number[], b: number[]) => ((a[0] * b[0] + a[1] * b[1]) / 2 + 1) ** 3;
    const X = [[1, 0], [0, 1], [1, 1]];
    const Y = [[0, 0], [2, 0], [-1, 1]];
    let kxx = 0;
    let kyy = 0;
    let kxy = 0;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        if (i !== j) {
          kxx += k(X[i], X[j]);
          kyy += k(Y[i], Y[j]);
        }
        kxy += k(X[i], Y[j]);
      }
    }
    expectClose(polynomialMmd2(xs, ys, 3, 2), (kxx + kyy) / 6 - (2 * kxy) / 9, 1e-14);
  });

  it('rejects unequal subsets, mismatched dims and bad options', () => {
    const x = randomFeatures(10, 3, 1);
    expect(() => kidOnSubsets(x, x, [{ x: new Int32Array([0, 1]), y: new Int32Array([0, 1, 2]) }])).toThrow(/every subset/);
    expect(() => kid(x, randomFeatures(10, 4, 2))).toThrow(/dims differ/);
    expect(() => kid(x, x, { subsets: 0 })).toThrow(expect.objectContaining({ code: 'FARMER_E_BAD_INPUT' }));
  });
});
