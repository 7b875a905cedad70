import { gmmLogDensity } from '@farmer/ar-gmm';
import { FarmerError, isFarmerError, Rng } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { PAPER_RESAMPLING_CFG, resamplingCfgInformative, resamplingCfgRedundant, resolveResamplingCfgOptions, type ResamplingCfgOptions } from '../src/index.js';
import { chiSquareBound, ksBound, ksDistance, meanVar, mixtureLogPdf1d, replicate, tabulate, type MixtureSpec, farmerError } from './helpers.js';

// p_c: two components; p_u: broader, three components. σ_u,max ≥ σ_c,max, so
// p_c^(w+1)/p_u^w is integrable for every w ≥ 0 and the weights stay bounded.
const pc: MixtureSpec = { logits: [Math.log(0.5), Math.log(0.5)], means: [-1, 1.5], sigmas: [0.6, 0.8] };
const pu: MixtureSpec = { logits: [Math.log(0.3), Math.log(0.4), Math.log(0.3)], means: [-2, 0.5, 2.5], sigmas: [1.2, 1.5, 1.2] };

/** Every temperature 1 and no sharpening: Algorithm 1 is then plain sampling-importance-resampling. */
const untempered = (w: number, s: number): ResamplingCfgOptions => ({
  w,
  sc: s,
  su: s,
  proposal: { pi: 1, sigma: 1 },
  evaluation: { pi: 1, sigma: 1 },
  sharpen: 1,
});

/**
 * Compares n independent resampled draws (one per row, each row with its own
 * pool) with a target tabulated on [−12, 12] (24 001 nodes; the trapezoid
 * error is < 1e-8, far below the tolerances). Tolerances:
 * - KS distance ≤ sqrt(−ln(α/2)/(2n)) at α = 1e-3 (1.95/√n);
 * - mean within 4·sd/√n; sample variance within 4·sqrt((μ4 − σ⁴)/n).
 * The finite pool (sc + su = 1000) biases SIR by O(1/ESS); measured with
 * n = 30 000 per setting it was not detectable (KS 0.004–0.006, i.e. pure
 * sampling noise), so it is far below these bounds (0.031 at n = 4000).
 */
function compareToTarget(label: string, z: Float32Array, logTarget: (x: number) => number): void {
  const n = z.length;
  const target = tabulate(logTarget, -12, 12, 24_001);
  const ks = ksDistance(z, target);
  const { mean, variance } = meanVar(z);
  const meanTol = (4 * Math.sqrt(target.variance)) / Math.sqrt(n);
  const varTol = 4 * Math.sqrt((target.mu4 - target.variance ** 2) / n);
  console.log(
    `${label}: KS ${ks.toFixed(4)} (≤ ${ksBound(n).toFixed(4)}), mean ${mean.toFixed(4)} vs ${target.mean.toFixed(4)} (±${meanTol.toFixed(4)}), ` +
      `var ${variance.toFixed(4)} vs ${target.variance.toFixed(4)} (±${varTol.toFixed(4)})`,
  );
  expect(ks).toBeLessThan(ksBound(n));
  expect(Math.abs(mean - target.mean)).toBeLessThan(meanTol);
  expect(Math.abs(variance - target.variance)).toBeLessThan(varTol);
}

describe('resampling CFG, informative step (docs/method.md §7.4 resampling CFG, Algorithm 1)', () => {
  const rows = 4000;
  const gc = replicate(pc, rows);
  const gu = replicate(pu, rows);

  for (const w of [1, 2.5]) {
    it(`untempered, sc = su = 500: matches ∝ p_c^(w+1)/p_u^w for w = ${w}`, () => {
      const { z, diagnostics } = resamplingCfgInformative(gc, gu, new Rng(`target-${w}`), untempered(w, 500));
      expect(z.length).toBe(rows);
      expect(diagnostics.fallback.every((f) => f === 0)).toBe(true);
      // The pool target is a genuine mixture of both proposals: some picks come from G_u.
      const fromU = diagnostics.fromUncond.reduce((a, b) => a + b, 0) / rows;
      expect(fromU).toBeGreaterThan(0.05);
      compareToTarget(`resampling w=${w} (mean ESS ${(diagnostics.ess.reduce((a, b) => a + b, 0) / rows).toFixed(0)})`, z, (x) => (w + 1) * mixtureLogPdf1d(pc, x) - w * mixtureLogPdf1d(pu, x));
      // The guided target is visibly different from p_c, so the test has power.
      const pcOnly = tabulate((x) => mixtureLogPdf1d(pc, x), -12, 12, 24_001);
      expect(ksDistance(z, pcOnly)).toBeGreaterThan(3 * ksBound(rows));
    });
  }

  it('w = 0 with no tempering reduces to conditional sampling (matches p_c)', () => {
    const { z } = resamplingCfgInformative(gc, gu, new Rng('w0'), untempered(0, 500));
    compareToTarget('resampling w=0', z, (x) => mixtureLogPdf1d(pc, x));
  });

  it('applies Algorithm 1 exactly: proposal temperatures, evaluation-temperature weights, sharpened softmax', () => {
    const opts = { w: 2.5, sc: 5, su: 5, proposal: { pi: 1.0, sigma: 0.9 }, evaluation: { pi: 0.2, sigma: 0.9 }, sharpen: 1.1 };
    const b = 50;
    const { z, diagnostics: d } = resamplingCfgInformative(replicate(pc, b), replicate(pu, b), new Rng(7), opts);
    expect(d.poolSize).toBe(10);
    expect(d.fromCond).toBe(5);
    const evalTemp = { pi: 0.2, sigma: 0.9 };
    for (let r = 0; r < b; r++) {
      const logw: number[] = [];
      for (let i = 0; i < 10; i++) {
        const zi = d.candidates.subarray((r * 10 + i) * 1, (r * 10 + i + 1) * 1);
        const ratio = gmmLogDensity(replicate(pc, 1), 0, zi, 0, evalTemp) - gmmLogDensity(replicate(pu, 1), 0, zi, 0, evalTemp);
        logw.push((i < 5 ? 2.5 : 3.5) * ratio);
        expect(d.logWeights[r * 10 + i]).toBeCloseTo(logw[i], 9);
      }
      const m = Math.max(...logw.map((v) => 1.1 * v));
      const e = logw.map((v) => Math.exp(1.1 * v - m));
      const total = e.reduce((a, c) => a + c, 0);
      for (let i = 0; i < 10; i++) expect(d.probabilities[r * 10 + i]).toBeCloseTo(e[i] / total, 12);
      expect(z[r]).toBe(d.candidates[r * 10 + d.chosen[r]]);
      expect(d.fromUncond[r]).toBe(d.chosen[r] >= 5 ? 1 : 0);
      expect(d.ess[r]).toBeGreaterThanOrEqual(1 - 1e-9);
      expect(d.ess[r]).toBeLessThanOrEqual(10 + 1e-9);
    }
    // Proposal σ temperature 0.9: single-component proposals spread with sd 0.9·σ.
    const one: MixtureSpec = { logits: [0], means: [3], sigmas: [2] };
    const big = resamplingCfgInformative(replicate(one, 2000), replicate(one, 2000), new Rng(8), { ...opts, sc: 10, su: 10 }).diagnostics.candidates;
    const { variance, n } = meanVar(big);
    const sd = 0.9 * 2;
    expect(Math.abs(variance - sd * sd)).toBeLessThan(5 * sd * sd * Math.sqrt(2 / (n - 1)));
  });

  it('uses the paper 1.1B-p16 row as defaults', () => {
    expect(resolveResamplingCfgOptions()).toEqual({
      w: 2.5,
      sc: 5,
      su: 5,
      proposal: { pi: 1.0, sigma: 0.9 },
      evaluation: { pi: 0.2, sigma: 0.9 },
      sharpen: 1.1,
      poolC: 64,
      poolU: 64,
    });
    expect(resolveResamplingCfgOptions({ proposal: { pi: 2 } }).proposal).toEqual({ pi: 2, sigma: 0.9 });
    expect(PAPER_RESAMPLING_CFG.w).toBe(2.5);
  });

  it('is deterministic given the Rng seed', () => {
    const a = resamplingCfgInformative(replicate(pc, 20), replicate(pu, 20), new Rng(99));
    const b = resamplingCfgInformative(replicate(pc, 20), replicate(pu, 20), new Rng(99));
    expect(b.z).toEqual(a.z);
    expect(b.diagnostics).toEqual(a.diagnostics);
    expect(resamplingCfgInformative(replicate(pc, 20), replicate(pu, 20), new Rng(100)).z).not.toEqual(a.z);
    const r1 = resamplingCfgRedundant(replicate(pc, 3), replicate(pu, 3), 16, new Rng(5));
    const r2 = resamplingCfgRedundant(replicate(pc, 3), replicate(pu, 3), 16, new Rng(5));
    expect(r2.z).toEqual(r1.z);
    expect(r2.diagnostics.chosen).toEqual(r1.diagnostics.chosen);
  });
});

describe('resampling CFG, numerics', () => {
  it('a row whose log-weights are all unusable falls back to a conditional draw, never NaN', () => {
    const b = 200;
    const gu = replicate(pu, b);
    gu.means.fill(NaN); // a broken unconditional stream: every log p_u is NaN
    const { z, diagnostics: d } = resamplingCfgInformative(replicate(pc, b), gu, new Rng(3));
    expect(d.fallback.every((f) => f === 1)).toBe(true);
    expect(z.every(Number.isFinite)).toBe(true);
    expect(d.fromUncond.every((f) => f === 0)).toBe(true);
    for (let r = 0; r < b; r++) {
      for (let i = 0; i < 5; i++) expect(d.probabilities[r * 10 + i]).toBeCloseTo(0.2, 12);
      expect(z[r]).toBe(d.candidates[r * 10 + d.chosen[r]]);
    }
    // The fallback picks are draws from G_c (proposal σ 0.9): a sanity check on their spread.
    const target = tabulate((x) => mixtureLogPdf1d({ ...pc, sigmas: pc.sigmas.map((s) => 0.9 * s) }, x), -12, 12, 24_001);
    expect(ksDistance(z, target)).toBeLessThan(ksBound(b));
  });

  it('a G_u row without a finite logit is a broken stream too: its rows fall back, others do not', () => {
    const gu = replicate(pu, 10);
    gu.logits.fill(-Infinity, 0, 3 * 5); // rows 0..4
    const { z, diagnostics: d } = resamplingCfgInformative(replicate(pc, 10), gu, new Rng(4));
    expect(z.every(Number.isFinite)).toBe(true);
    expect(Array.from(d.fallback)).toEqual([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    for (let r = 0; r < 5; r++) {
      for (let i = 0; i < 10; i++) expect(d.probabilities[r * 10 + i]).toBeCloseTo(i < 5 ? 0.2 : 0, 12);
    }
  });

  it('throws FARMER_E_NON_FINITE when the conditional stream itself is broken', () => {
    const gc = replicate(pc, 2);
    gc.means.fill(NaN, 2);
    const e = farmerError(() => resamplingCfgInformative(gc, replicate(pu, 2), new Rng(1)));
    expect(e.code).toBe('FARMER_E_NON_FINITE');
    expect(e.details).toMatchObject({ field: 'cond', row: 1 });
  });

  it('stays finite with huge logits and tiny σ', () => {
    const gc = replicate({ logits: [1e30, 0], means: [0, 1], sigmas: [1e-3, 1e-3] }, 4);
    const gu = replicate({ logits: [0, 1e30], means: [0, 1], sigmas: [1e-3, 1e-3] }, 4);
    const { z } = resamplingCfgInformative(gc, gu, new Rng(6));
    expect(z.every(Number.isFinite)).toBe(true);
  });

  it('validation errors name the field and the allowed range', () => {
    const gc = replicate(pc, 2);
    const gu = replicate(pu, 2);
    for (const [opts, field] of [
      [{ sc: 0 }, 'sc'],
      [{ su: -1 }, 'su'],
      [{ sc: 2.5 }, 'sc'],
      [{ w: -0.5 }, 'w'],
      [{ w: Infinity }, 'w'],
      [{ sharpen: 0 }, 'sharpen'],
      [{ proposal: { pi: -1 } }, 'proposal.pi'],
      [{ proposal: { sigma: 0 } }, 'proposal.sigma'],
      [{ evaluation: { pi: NaN } }, 'evaluation.pi'],
      [{ evaluation: { sigma: -0.9 } }, 'evaluation.sigma'],
      [{ poolC: 0 }, 'poolC'],
      [{ poolU: -2 }, 'poolU'],
    ] as [ResamplingCfgOptions, string][]) {
      const e = farmerError(() => resamplingCfgRedundant(gc, gu, 4, new Rng(1), opts));
      expect(e.code).toBe('FARMER_E_BAD_INPUT');
      expect(e.details.field).toBe(field);
      expect(e.message).toContain(`${field} must be`);
    }
    expect(farmerError(() => resamplingCfgRedundant(gc, gu, 0, new Rng(1))).details.field).toBe('n');
    const e = farmerError(() => resamplingCfgInformative(gc, replicate(pu, 3), new Rng(1)));
    expect(e.code).toBe('FARMER_E_SHAPE');
    expect(e.details.field).toBe('uncond.batch');
  });
});

describe('resampling CFG, redundant step', () => {
  it('draws each of the n vectors independently, with replacement, from one weighted pool per row', () => {
    const n = 40_000;
    const rows = 2;
    // Untempered weights give a spread-out pool (large ESS), so many cells are informative.
    const { z, diagnostics: d } = resamplingCfgRedundant(replicate(pc, rows), replicate(pu, rows), n, new Rng('redundant'), {
      ...untempered(1, 5),
      poolC: 64,
      poolU: 64,
    });
    expect(z.length).toBe(rows * n);
    expect(d.poolSize).toBe(128);
    for (let r = 0; r < rows; r++) {
      const p = d.probabilities.subarray(r * 128, (r + 1) * 128);
      const counts = new Float64Array(128);
      for (let i = 0; i < n; i++) {
        const c = d.chosen[r * n + i];
        counts[c]++;
        expect(z[r * n + i]).toBe(d.candidates[r * 128 + c]);
      }
      // Multinomial(n, p): Pearson χ² over cells with expected count ≥ 5 (the rest merged into one cell).
      let chi2 = 0;
      let cells = 0;
      let restObs = 0;
      let restExp = 0;
      for (let c = 0; c < 128; c++) {
        const e = n * p[c];
        if (e >= 5) {
          chi2 += (counts[c] - e) ** 2 / e;
          cells++;
        } else {
          restObs += counts[c];
          restExp += e;
        }
      }
      if (restExp >= 5) {
        chi2 += (restObs - restExp) ** 2 / restExp;
        cells++;
      }
      const bound = chiSquareBound(cells - 1);
      // Independence: over disjoint pairs (2i, 2i+1) the duplicate rate is Σp² for independent draws.
      const sumP2 = p.reduce((a, v) => a + v * v, 0);
      let dup = 0;
      for (let i = 0; i + 1 < n; i += 2) if (d.chosen[r * n + i] === d.chosen[r * n + i + 1]) dup++;
      const pairs = Math.floor(n / 2);
      const dupTol = 5 * Math.sqrt((sumP2 * (1 - sumP2)) / pairs);
      console.log(
        `redundant row ${r}: ESS ${d.ess[r].toFixed(1)}, χ² ${chi2.toFixed(1)} on ${cells - 1} dof (≤ ${bound.toFixed(1)}), ` +
          `duplicate rate ${(dup / pairs).toFixed(4)} vs Σp² ${sumP2.toFixed(4)} (±${dupTol.toFixed(4)})`,
      );
      expect(cells).toBeGreaterThan(50);
      expect(chi2).toBeLessThan(bound);
      expect(Math.abs(dup / pairs - sumP2)).toBeLessThan(dupTol);
    }
  });

  it('with the paper temperatures: [B, n, dim] output, every vector one of its row`s pool candidates', () => {
    const spec: MixtureSpec = { logits: [0, 0.3], means: [-1, 0, 1, 0.5], sigmas: [0.5, 0.7, 0.6, 0.4] };
    const wide: MixtureSpec = { logits: [0, 0], means: [0, 0, 0.5, 0.5], sigmas: [1.5, 1.5, 1.5, 1.5] };
    const { z, diagnostics: d } = resamplingCfgRedundant(replicate(spec, 3), replicate(wide, 3), 10, new Rng(11));
    expect(z.length).toBe(3 * 10 * 2);
    expect(d.chosen.length).toBe(30);
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < 10; i++) {
        const c = d.chosen[r * 10 + i];
        expect(Array.from(z.subarray((r * 10 + i) * 2, (r * 10 + i + 1) * 2))).toEqual(Array.from(d.candidates.subarray((r * 128 + c) * 2, (r * 128 + c + 1) * 2)));
      }
    }
  });
});
