import { describe, expect, it } from 'vitest';
import { classMargin, complexityCorrected, complexityTypicality, fprAtTpr, gaussian2, informativeBitsPerDim, lowLevelRatio, posteriorEntropy } from '../src/index.js';

// docs/method.md §5.5 OOD scores: each score against its closed form on synthetic terms.
const dims = { numTokens: 4, tokenDim: 6, dI: 2 };
const terms = (informative: number[], redundant: number[], logdet: number[]) => ({
  informative: Float64Array.from(informative),
  redundant: Float64Array.from(redundant),
  logdet: Float64Array.from(logdet),
  total: Float64Array.from(informative, (v, i) => v + redundant[i] + logdet[i]),
});

describe('OOD scores on synthetic terms', () => {
  it('informativePerDim is −log G(z^I)/(N·d_I·ln 2), and +∞ for an image with no finite density', () => {
    const t = terms([-8 * Math.LN2, 4, 0], [0, 0, -Infinity], [0, 0, 0]);
    const s = informativeBitsPerDim(t, dims);
    expect(s[0]).toBeCloseTo(1, 12); // 8 ln 2 nats over N·d_I = 8 dimensions: 1 bit each
    expect(s[1]).toBeCloseTo(-4 / (8 * Math.LN2), 12);
    expect(s[2]).toBe(Infinity);
  });

  it('lowLevelRatio subtracts the redundant and logdet NLL per data dimension from the informative bits', () => {
    // N·d = 24: a redundant NLL of 24 ln 2 and a logdet of −24 ln 2 are 2 bits per data dimension.
    const t = terms([-8 * Math.LN2], [-24 * Math.LN2], [-24 * Math.LN2]);
    expect(lowLevelRatio(t, dims)[0]).toBeCloseTo(1 - 2, 12);
    // A larger logdet (a cheaper AF share) raises the ratio by its share per dimension.
    expect(lowLevelRatio(terms([-8 * Math.LN2], [-24 * Math.LN2], [0]), dims)[0]).toBeCloseTo(1 - 1, 12);
  });

  it('complexity is bits/dim minus PNG bits/dim', () => {
    expect(Array.from(complexityCorrected([3, 5, Infinity], [4, 1, 2]))).toEqual([-1, 4, Infinity]);
  });

  it('posteriorEntropy: log K for equal likelihoods (and for an image impossible under every class), 0 for one class alone', () => {
    const K = 4;
    const h = posteriorEntropy(Float64Array.from([0, 0, 0, 0, 0, -1e4, -1e4, -1e4, -Infinity, -Infinity, -Infinity, -Infinity, 0, Math.log(3), -Infinity, -Infinity]), K);
    expect(h[0]).toBeCloseTo(Math.log(4), 12);
    expect(h[1]).toBeCloseTo(0, 12);
    expect(h[2]).toBeCloseTo(Math.log(4), 12);
    // p = (1/4, 3/4, 0, 0)
    expect(h[3]).toBeCloseTo(-(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75)), 12);
  });

  it('classMargin: max_y log p(x|y) − log Σ_y p(x|y)/K is log 2 − log(1 + e^{b−a}) for two classes', () => {
    const m = classMargin(Float64Array.from([-3, -5, -7, -7, -1e4, 0, -Infinity, -Infinity]), 2);
    expect(m[0]).toBeCloseTo(Math.LN2 - Math.log(1 + Math.exp(-2)), 12);
    expect(m[1]).toBeCloseTo(0, 12);
    expect(m[2]).toBeCloseTo(Math.LN2, 12);
    expect(m[3]).toBe(0);
  });

  it('complexityTypicality is the Mahalanobis distance under the training Gaussian', () => {
    const g = { mean: [1, 2] as [number, number], covariance: [[1, 0.5], [0.5, 1]] as [[number, number], [number, number]] };
    const d = complexityTypicality([2, 1, 2, Infinity], [3, 2, 1, 2], g);
    // (1, 1): [1 1]·Σ⁻¹·[1 1]ᵀ = 2/(1 + 0.5) = 4/3; (0, 0): 0; (1, −1): 2/(1 − 0.5) = 4.
    expect(d[0]).toBeCloseTo(Math.sqrt(4 / 3), 12);
    expect(d[1]).toBe(0);
    expect(d[2]).toBeCloseTo(2, 12);
    expect(d[3]).toBe(Infinity);
  });

  it('gaussian2 gives the mean and the (n − 1) covariance of the pairs', () => {
    const g = gaussian2([1, 2, 3, 4], [2, 4, 6, 9]);
    expect(g.mean).toEqual([2.5, 5.25]);
    const cxx = (1.5 ** 2 * 2 + 0.5 ** 2 * 2) / 3;
    const cxy = (-1.5 * -3.25 + -0.5 * -1.25 + 0.5 * 0.75 + 1.5 * 3.75) / 3;
    const cyy = (3.25 ** 2 + 1.25 ** 2 + 0.75 ** 2 + 3.75 ** 2) / 3;
    expect(g.covariance[0][0]).toBeCloseTo(cxx, 12);
    expect(g.covariance[0][1]).toBeCloseTo(cxy, 12);
    expect(g.covariance[1][0]).toBeCloseTo(cxy, 12);
    expect(g.covariance[1][1]).toBeCloseTo(cyy, 12);
  });

  it('fprAtTpr accepts the lowest 95% of in-distribution scores and counts the OOD ones under that threshold', () => {
    const inDist = Array.from({ length: 100 }, (_, i) => i + 1); // threshold: the 95th smallest, 95
    expect(fprAtTpr([50, 95, 96, 200], inDist)).toBe(0.5);
    expect(fprAtTpr([96, 97], inDist)).toBe(0);
    expect(fprAtTpr([1, 2], inDist)).toBe(1);
    expect(fprAtTpr([10], inDist, 0.1)).toBe(1);
    expect(fprAtTpr([11], inDist, 0.1)).toBe(0);
    expect(fprAtTpr([NaN], inDist)).toBeNaN();
    expect(() => fprAtTpr([], inDist)).toThrow(/both groups/);
  });
});
