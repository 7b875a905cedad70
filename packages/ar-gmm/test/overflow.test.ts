import { describe, expect, it } from 'vitest';
import { classPosterior, jointNllHost, overflowAsImpossible, preset } from '../src/index.js';

// docs/method.md §5.2 Bits per dim: an AF forward that overflows float32 gives NLL +∞, never NaN.
describe('an image whose AF forward overflows', () => {
  it('has log-likelihood −∞ (NLL +∞), and finite ones are unchanged', () => {
    expect(overflowAsImpossible(NaN)).toBe(-Infinity);
    expect(overflowAsImpossible(-Infinity)).toBe(-Infinity);
    expect(overflowAsImpossible(-12.5)).toBe(-12.5);
    const c = preset('mnist-tiny');
    const n = c.flow.numBlocks;
    // Image 0: latents overflowed (∞ − ∞ in the AR terms); image 1: finite.
    const ar = { logpInformative: Float64Array.from([NaN, -100]), logpRedundant: Float64Array.from([-Infinity, -50]) };
    const logdets = Float32Array.from({ length: 2 * n }, (_, i) => (i < n ? 1e3 : 10));
    const nll = jointNllHost(c, 2, ar, logdets);
    expect(nll.nllPerDim[0]).toBe(Infinity);
    expect(nll.nllPerDim[1]).toBeCloseTo(-(-150 + 10 * n) / (49 * 16), 10);
  });

  it('leaves the class posterior at the prior when every class finds the image impossible', () => {
    const post = classPosterior(Float64Array.from([-Infinity, -Infinity, -1, -2]), 2, { prior: [0.25, 0.75] });
    expect(Array.from(post.subarray(0, 2))).toEqual([0.25, 0.75]);
    expect(post[2]).toBeCloseTo(1 / (1 + (0.75 / 0.25) * Math.exp(-1)), 12);
  });
});
