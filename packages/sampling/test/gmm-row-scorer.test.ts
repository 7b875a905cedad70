import { gmmLogDensity } from '@farmer/ar-gmm';
import { Rng } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { GmmRowScorer } from '../src/gmm-row-scorer.js';

describe('GmmRowScorer (internal)', () => {
  it('agrees with gmmLogDensity of @farmer/ar-gmm to 1e-10 relative, with temperatures', () => {
    const rng = new Rng('scorer');
    const [b, k, dim] = [3, 7, 13];
    const g = {
      batch: b,
      k,
      dim,
      logits: rng.normal(b * k, 0, 3),
      means: rng.normal(b * k * dim),
      sigmas: rng.uniform(b * k * dim, 0.05, 2),
    };
    const z = rng.normal(20 * dim, 0, 1.5);
    for (const temp of [
      { pi: 1, sigma: 1 },
      { pi: 0.2, sigma: 0.9 },
      { pi: 3, sigma: 1.7 },
    ]) {
      const s = new GmmRowScorer(g, temp);
      for (let r = 0; r < b; r++) {
        s.setRow(r);
        for (let i = 0; i < 20; i++) {
          const want = gmmLogDensity(g, r, z, i * dim, temp);
          expect(Math.abs(s.logDensity(z, i * dim) - want)).toBeLessThan(1e-10 * Math.max(1, Math.abs(want)));
        }
      }
    }
  });

  it('returns NaN (not -∞) when a component is NaN, and -∞ for masked components only', () => {
    const g = { batch: 1, k: 2, dim: 1, logits: Float32Array.from([0, -Infinity]), means: Float32Array.from([0, NaN]), sigmas: Float32Array.from([1, 1]) };
    const s = new GmmRowScorer(g, { pi: 1, sigma: 1 });
    s.setRow(0);
    expect(s.logDensity([0], 0)).toBeNaN();
    g.means[1] = 5;
    const t = new GmmRowScorer(g, { pi: 1, sigma: 1 });
    t.setRow(0);
    expect(t.logDensity([0], 0)).toBeCloseTo(-0.5 * Math.log(2 * Math.PI), 12);
  });
});
