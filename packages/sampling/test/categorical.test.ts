import { describe, expect, it } from 'vitest';
import { effectiveSampleSize, searchCumulative, softmaxCumulative } from '../src/categorical.js';

describe('softmaxCumulative / searchCumulative (internal)', () => {
  it('computes softmax(scale·logw) cumulatively, stable for huge values', () => {
    const cum = new Float64Array(3);
    const total = softmaxCumulative([1000, 1000 + Math.log(2), -Infinity], 0, 3, 1, cum);
    // Weights are shifted by the max, so they are [1/2, 1, 0] (ratios are what matter).
    expect(total).toBeCloseTo(1.5, 12);
    expect(Array.from(cum)).toEqual([0.5, 1.5, 1.5].map((v) => expect.closeTo(v, 12)));
    expect(effectiveSampleSize(cum, 3)).toBeCloseTo(9 / 5, 12);
    // scale multiplies: softmax(2·[0, ln 2]) = [1, 4] / 5
    softmaxCumulative([0, Math.log(2)], 0, 2, 2, cum);
    expect(cum[1] / cum[0]).toBeCloseTo(5, 12);
  });

  it('treats NaN as weight 0, lets +∞ entries share the mass, and reports an empty row as 0', () => {
    const cum = new Float64Array(4);
    expect(softmaxCumulative([NaN, 0, NaN, 0], 0, 4, 1, cum)).toBe(2);
    expect(softmaxCumulative([Infinity, 5, Infinity, NaN], 0, 4, 1, cum)).toBe(2);
    expect(Array.from(cum)).toEqual([1, 1, 2, 2]);
    expect(searchCumulative(cum, 4, 2, 0)).toBe(0);
    expect(searchCumulative(cum, 4, 2, 0.5)).toBe(2);
    expect(searchCumulative(cum, 4, 2, 1 - 2 ** -53)).toBe(2);
    expect(softmaxCumulative([NaN, -Infinity], 0, 2, 1, cum)).toBe(0);
  });

  it('never returns a zero-weight index, even when u·total rounds to the total', () => {
    const cum = Float64Array.from([0, 0.3, 0.3, 1, 1]);
    for (const u of [0, 1e-12, 0.29, 0.3, 0.5, 0.999999, 1 - 2 ** -53, 1]) {
      const i = searchCumulative(cum, 5, 1, u);
      expect(cum[i] - (i > 0 ? cum[i - 1] : 0)).toBeGreaterThan(0);
    }
  });
});
