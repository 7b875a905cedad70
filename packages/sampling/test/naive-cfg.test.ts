import { FarmerError, isFarmerError, Rng } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { naiveCfgGaussian, sampleNaiveCfg } from '../src/index.js';
import { meanVar, replicate, softmax, tabulate, type MixtureSpec, farmerError } from './helpers.js';

const logNormal = (x: number, mu: number, sigma: number): number => -0.5 * ((x - mu) / sigma) ** 2 - Math.log(sigma) - 0.5 * Math.log(2 * Math.PI);

describe('naive CFG (baseline)', () => {
  it('closed form equals the normalised N(μc,σc²)^(1+w)/N(μu,σu²)^w integrated on a grid', () => {
    for (const [muC, sigmaC, muU, sigmaU, w] of [
      [0.5, 0.8, -0.3, 1.2, 1],
      [0.5, 0.8, -0.3, 1.2, 2.5],
      [-1, 0.3, 2, 0.5, 4],
      [2, 1, 2.5, 1, 0.7], // equal σ: the mean is extrapolated away from μu
      [0.1, 0.6, 0.1, 3, 10],
    ]) {
      const g = naiveCfgGaussian(muC, sigmaC, muU, sigmaU, w);
      expect(g).not.toBeNull();
      // Grid of 40 001 nodes over ±12 closed-form sd: trapezoid error ≪ 1e-9 for a Gaussian.
      const half = 12 * g!.std;
      const d = tabulate((x) => (1 + w) * logNormal(x, muC, sigmaC) - w * logNormal(x, muU, sigmaU), g!.mean - half, g!.mean + half, 40_001);
      console.log(`naive closed form w=${w}: |Δmean| ${Math.abs(d.mean - g!.mean).toExponential(1)}, |var ratio − 1| ${Math.abs(d.variance / g!.std ** 2 - 1).toExponential(1)} (≤ 1e-8)`);
      expect(Math.abs(d.mean - g!.mean)).toBeLessThan(1e-8 * Math.max(1, Math.abs(g!.mean)));
      expect(Math.abs(d.variance / g!.std ** 2 - 1)).toBeLessThan(1e-8);
      // Gaussian shape: kurtosis 3.
      expect(Math.abs(d.mu4 / d.variance ** 2 - 3)).toBeLessThan(1e-6);
    }
    expect(naiveCfgGaussian(0.4, 0.7, -2, 0.3, 0)).toEqual({ mean: 0.4, std: expect.closeTo(0.7, 14) });
  });

  it('returns null exactly when λ = (1+w)/σc² − w/σu² ≤ 0 (not normalisable)', () => {
    // σu = σc·sqrt(w/(1+w)) is the boundary: λ = 0.
    const w = 2;
    const sigmaC = 1;
    const edge = sigmaC * Math.sqrt(w / (1 + w));
    expect(naiveCfgGaussian(0, sigmaC, 1, edge * 0.999, w)).toBeNull();
    expect(naiveCfgGaussian(0, sigmaC, 1, edge * 1.001, w)).not.toBeNull();
    expect(naiveCfgGaussian(0, 1, 0, 0.5, 2)).toBeNull();
  });

  it('samples: k from softmax(logits_c/T), each dimension from the closed form, fallback where λ ≤ 0', () => {
    // Two far-apart components, dim 2. Dimension 0 is normalisable; dimension 1 has σu < σc·sqrt(w/(1+w)).
    const cond: MixtureSpec = { logits: [0.4, -0.4], means: [-10, 1, 10, -1], sigmas: [1, 0.5, 0.6, 0.8] };
    const uncond: MixtureSpec = { logits: [0, 0], means: [-9, 0, 11, 0], sigmas: [2, 0.1, 1.5, 0.2] };
    const w = 2;
    const T = 1.5;
    const s = 0.8;
    const rows = 30_000;
    const { z, components, fallbackDims } = sampleNaiveCfg(replicate(cond, rows), replicate(uncond, rows), new Rng('naive'), { w, temperature: T, scale: s });
    expect(z.length).toBe(rows * 2);
    expect(fallbackDims.every((f) => f === 1)).toBe(true);
    const p = softmax(cond.logits, T);
    const n0 = components.filter((c) => c === 0).length;
    // Binomial count within 5 standard errors.
    expect(Math.abs(n0 - rows * p[0])).toBeLessThan(5 * Math.sqrt(rows * p[0] * (1 - p[0])));
    for (let c = 0; c < 2; c++) {
      for (let j = 0; j < 2; j++) {
        const xs: number[] = [];
        for (let r = 0; r < rows; r++) if (components[r] === c) xs.push(z[r * 2 + j]);
        const i = c * 2 + j;
        const g = naiveCfgGaussian(cond.means[i], cond.sigmas[i], uncond.means[i], uncond.sigmas[i], w) ?? { mean: cond.means[i], std: cond.sigmas[i] };
        expect(naiveCfgGaussian(cond.means[i], cond.sigmas[i], uncond.means[i], uncond.sigmas[i], w) === null).toBe(j === 1);
        const sd = s * g.std;
        const { mean, variance, n } = meanVar(xs);
        console.log(
          `naive sample c=${c} j=${j}${j === 1 ? ' (fallback)' : ''}: mean |z| ${(Math.abs(mean - g.mean) / (sd / Math.sqrt(n))).toFixed(2)}, ` +
            `var |z| ${(Math.abs(variance - sd * sd) / (sd * sd * Math.sqrt(2 / (n - 1)))).toFixed(2)} (≤ 5)`,
        );
        expect(Math.abs(mean - g.mean)).toBeLessThan((5 * sd) / Math.sqrt(n));
        expect(Math.abs(variance - sd * sd)).toBeLessThan(5 * sd * sd * Math.sqrt(2 / (n - 1)));
      }
    }
  });

  it('keeps guided Gaussians wider than maxStdRatio·σc out (σu just above the λ = 0 edge)', () => {
    // w 2, σc 1, σu 1.001·sqrt(2/3): λ ≈ 0.006, so the product has σ ≈ 13 and a mean ≈ 170 away.
    const w = 2;
    const sigmaU = 1.001 * Math.sqrt(w / (1 + w));
    const g = naiveCfgGaussian(0, 1, 1, sigmaU, w)!;
    expect(g.std).toBeGreaterThan(10);
    const c = replicate({ logits: [0], means: [0], sigmas: [1] }, 4000);
    const u = replicate({ logits: [0], means: [1], sigmas: [sigmaU] }, 4000);
    const kept = sampleNaiveCfg(c, u, new Rng(5), { w, maxStdRatio: Infinity });
    expect(kept.fallbackDims.every((f) => f === 0)).toBe(true);
    expect(meanVar(Array.from(kept.z)).mean).toBeLessThan(-100);
    const guarded = sampleNaiveCfg(c, u, new Rng(5), { w });
    expect(guarded.fallbackDims.every((f) => f === 1)).toBe(true);
    const { mean, variance } = meanVar(Array.from(guarded.z));
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(variance - 1)).toBeLessThan(0.1);
    // A product only a little wider than σc is kept with the default ratio 2.
    expect(naiveCfgGaussian(0, 1, 0, 0.95, w)!.std).toBeLessThan(2);
    expect(sampleNaiveCfg(replicate({ logits: [0], means: [0], sigmas: [1] }, 3), replicate({ logits: [0], means: [0], sigmas: [0.95] }, 3), new Rng(1), { w }).fallbackDims).toEqual(new Int32Array(3));
  });

  it('is deterministic given the Rng seed', () => {
    const c: MixtureSpec = { logits: [0, 1], means: [0, 1], sigmas: [1, 1] };
    const u: MixtureSpec = { logits: [0, 0], means: [0.5, 0.5], sigmas: [2, 2] };
    const a = sampleNaiveCfg(replicate(c, 8), replicate(u, 8), new Rng(3));
    expect(sampleNaiveCfg(replicate(c, 8), replicate(u, 8), new Rng(3))).toEqual(a);
    expect(sampleNaiveCfg(replicate(c, 8), replicate(u, 8), new Rng(4)).z).not.toEqual(a.z);
  });

  it('validates options, shapes and finiteness, naming the field', () => {
    const c = replicate({ logits: [0, 1], means: [0, 1], sigmas: [1, 1] }, 2);
    const u = replicate({ logits: [0, 0], means: [0.5, 0.5], sigmas: [2, 2] }, 2);
    for (const [opts, field] of [
      [{ w: -1 }, 'w'],
      [{ temperature: 0 }, 'temperature'],
      [{ scale: -2 }, 'scale'],
      [{ maxStdRatio: 0.5 }, 'maxStdRatio'],
    ] as const) {
      const e = farmerError(() => sampleNaiveCfg(c, u, new Rng(1), opts));
      expect(e.code).toBe('FARMER_E_BAD_INPUT');
      expect(e.details.field).toBe(field);
      expect(e.message).toContain(`${field} must be`);
    }
    const u3 = replicate({ logits: [0, 0, 0], means: [0, 0, 0], sigmas: [1, 1, 1] }, 2);
    expect(farmerError(() => sampleNaiveCfg(c, u3, new Rng(1))).details.field).toBe('uncond.k');
    u.sigmas[0] = NaN;
    u.sigmas[1] = NaN;
    expect(farmerError(() => sampleNaiveCfg(c, u, new Rng(1))).code).toBe('FARMER_E_NON_FINITE');
  });
});
