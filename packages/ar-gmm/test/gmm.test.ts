import { initBackend, Rng, tf } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { gmmLogDensity, gmmLogProb, GmmRowScorer, headOutputToGmm, headToGmm, logSumExp, softplus, type GmmBatch, type GmmTemperature } from '../src/index.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** log Σ_k π_k Π_j N(z_j; μ_kj, σ_kj²) summed directly in float64 (no log-space tricks). */
function directLogDensity(g: GmmBatch, row: number, z: ArrayLike<number>): number {
  let zsum = 0;
  for (let c = 0; c < g.k; c++) zsum += Math.exp(g.logits[row * g.k + c]);
  let total = 0;
  for (let c = 0; c < g.k; c++) {
    let p = Math.exp(g.logits[row * g.k + c]) / zsum;
    for (let j = 0; j < g.dim; j++) {
      const m = g.means[(row * g.k + c) * g.dim + j];
      const s = g.sigmas[(row * g.k + c) * g.dim + j];
      p *= Math.exp(-0.5 * ((z[j] - m) / s) ** 2) / (s * Math.sqrt(2 * Math.PI));
    }
    total += p;
  }
  return Math.log(total);
}

/** log G(z) term by term in log space (per-dimension log N, then a max-shifted sum): an independent float64 reference with temperatures. */
function referenceLogDensity(g: GmmBatch, row: number, z: ArrayLike<number>, off: number, temp: Required<GmmTemperature>): number {
  const logits = Array.from(g.logits.subarray(row * g.k, (row + 1) * g.k), (l) => l / temp.pi);
  const maxLogit = Math.max(...logits);
  const logNorm = maxLogit + Math.log(logits.reduce((s, l) => s + Math.exp(l - maxLogit), 0));
  const joint = logits.map((l, c) => {
    let s = l - logNorm;
    for (let j = 0; j < g.dim; j++) {
      const sigma = temp.sigma * g.sigmas[(row * g.k + c) * g.dim + j];
      const u = (z[off + j] - g.means[(row * g.k + c) * g.dim + j]) / sigma;
      s += -0.5 * u * u - Math.log(sigma) - 0.5 * Math.log(2 * Math.PI);
    }
    return s;
  });
  const max = Math.max(...joint);
  return max + Math.log(joint.reduce((s, v) => s + Math.exp(v - max), 0));
}

function randomGmm(rng: Rng, k: number, dim: number, opts: { logitScale?: number; sigmaLo?: number; sigmaHi?: number } = {}): GmmBatch {
  const lo = opts.sigmaLo ?? 0.2;
  const hi = opts.sigmaHi ?? 1.5;
  return {
    batch: 1,
    k,
    dim,
    logits: rng.normal(k, 0, opts.logitScale ?? 1),
    means: rng.normal(k * dim),
    sigmas: rng.uniform(k * dim, lo, hi),
  };
}

describe('GMM log-density (host, float64)', () => {
  it('matches a direct sum on random mixtures', () => {
    const rng = new Rng(1);
    for (let trial = 0; trial < 50; trial++) {
      const g = randomGmm(rng, 1 + (trial % 7), 1 + (trial % 5));
      const z = rng.normal(g.dim);
      expect(gmmLogDensity(g, 0, z)).toBeCloseTo(directLogDensity(g, 0, z), 9);
    }
  });

  it('stays exact with extreme logits (±80) and tiny σ (1e-3)', () => {
    const rng = new Rng(2);
    for (let trial = 0; trial < 30; trial++) {
      const g = randomGmm(rng, 5, 3, { logitScale: 40, sigmaLo: 1e-3, sigmaHi: 3e-3 });
      g.logits[0] = 80;
      g.logits[1] = -80;
      // z near component 0's mean, so the density is large but representable in float64.
      const z = Array.from({ length: 3 }, (_, j) => g.means[j] + 1e-3 * rng.normal(1)[0]);
      const direct = directLogDensity(g, 0, z);
      expect(Number.isFinite(direct)).toBe(true);
      expect(gmmLogDensity(g, 0, z)).toBeCloseTo(direct, 8);
    }
  });

  it('gives finite values where the direct sum underflows', () => {
    const s = 2 ** -10; // exactly representable in float32
    const g = { batch: 1, k: 2, dim: 1, logits: Float32Array.from([0, 0]), means: Float32Array.from([0, 1]), sigmas: Float32Array.from([s, s]) };
    const z = [50];
    expect(directLogDensity(g, 0, z)).toBe(-Infinity);
    // Component 1 dominates: log(½·N(50; 1, s²)) = −½(49/s)² − log s − ½ log 2π + log ½.
    const want = -0.5 * (49 / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI) + Math.log(0.5);
    expect(gmmLogDensity(g, 0, z)).toBeCloseTo(want, 3);
  });

  it('logSumExp handles -Infinity and propagates NaN', () => {
    expect(logSumExp([-Infinity, -Infinity])).toBe(-Infinity);
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 10);
    expect(Number.isNaN(logSumExp([0, NaN]))).toBe(true);
    expect(Number.isNaN(logSumExp([NaN, NaN]))).toBe(true);
  });

  it('applies temperatures as docs/method.md §7.3 GMM temperatures says (logits / T_π, σ · T_σ)', () => {
    const rng = new Rng(3);
    const g = randomGmm(rng, 3, 2);
    const z = rng.normal(2);
    const hot = { ...g, logits: g.logits.map((l) => l / 2), sigmas: g.sigmas.map((s) => s * 0.7) };
    // `hot` holds float32-rounded σ·0.7, hence the looser tolerance.
    expect(gmmLogDensity(g, 0, z, 0, { pi: 2, sigma: 0.7 })).toBeCloseTo(directLogDensity(hot, 0, z), 5);
  });
});

describe('GmmRowScorer (many vectors against one row)', () => {
  it('agrees with a term-by-term reference to 1e-10 relative, with temperatures, across rows', () => {
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
          const want = referenceLogDensity(g, r, z, i * dim, temp);
          expect(Math.abs(s.logDensity(z, i * dim) - want)).toBeLessThan(1e-10 * Math.max(1, Math.abs(want)));
          expect(gmmLogDensity(g, r, z, i * dim, temp)).toBe(s.logDensity(z, i * dim));
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

describe('GMM head (tfjs)', () => {
  it('matches the float64 host maths to fp32 precision', () => {
    const rng = new Rng(4);
    const [b, k, dim] = [6, 5, 3];
    const raw = rng.normal(b * k * (1 + 2 * dim), 0, 2);
    raw[0] = 60; // an extreme logit
    const z = rng.normal(b * dim);
    const host = headOutputToGmm(raw, b, k, dim, 1e-3);
    const lp = tf.tidy(() => gmmLogProb(tf.tensor2d(z, [b, dim]), headToGmm(tf.tensor2d(raw, [b, k * (1 + 2 * dim)]), k, dim, 1e-3)).dataSync());
    for (let r = 0; r < b; r++) {
      const want = gmmLogDensity(host, r, z, r * dim);
      expect(Math.abs(lp[r] - want)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want)));
    }
    const g = tf.tidy(() => {
      const t = headToGmm(tf.tensor2d(raw, [b, k * (1 + 2 * dim)]), k, dim, 1e-3);
      return { logits: t.logits.dataSync(), means: t.means.dataSync(), sigmas: t.sigmas.dataSync() };
    });
    for (let i = 0; i < host.sigmas.length; i++) expect(g.sigmas[i]).toBeCloseTo(host.sigmas[i], 5);
    expect(Array.from(g.means)).toEqual(Array.from(host.means));
    expect(Array.from(g.logits)).toEqual(Array.from(host.logits));
  });

  it('keeps σ ≥ σ_min and finite for huge pre-activations', () => {
    expect(softplus(-1000)).toBe(0);
    expect(softplus(1000)).toBe(1000);
    const s = tf.tidy(() => headToGmm(tf.tensor2d([0, 0, 0, -1e4, 1e4], [1, 5]), 1, 2, 1e-3).sigmas.dataSync());
    expect(s[0]).toBeCloseTo(1e-3, 9);
    expect(s[1]).toBeCloseTo(1e4, 0);
    const g = headOutputToGmm([0, 0, -1e4], 1, 1, 1, 1e-3);
    expect(g.sigmas[0]).toBeCloseTo(1e-3, 9);
  });
});
