import { FarmerError, isFarmerError, Rng } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { drawDecoupled, PAPER_UNGUIDED_DECOUPLED, sampleDecoupled, sampleDecoupledMany } from '../src/index.js';
import { chiSquareBound, meanVar, replicate, softmax, type MixtureSpec, farmerError } from './helpers.js';

/** Pearson χ² of observed counts against probabilities p over n draws. */
function chiSquare(counts: number[], p: number[], n: number): number {
  return counts.reduce((s, c, i) => s + (c - n * p[i]) ** 2 / (n * p[i]), 0);
}

// Three components far apart relative to their σ (so each is identifiable by eye too).
const oneD: MixtureSpec = { logits: [0.5, 0, -1], means: [-6, 0, 6], sigmas: [0.5, 1, 0.8] };
// K = 3 in 2-D with different σ per dimension (component-major: c·dim + j).
const twoD: MixtureSpec = {
  logits: [1, -0.5, 0.2],
  means: [-5, 2, 0, -3, 4, 4],
  sigmas: [0.3, 1.2, 0.7, 0.5, 1.5, 0.4],
};

/**
 * Checks one row's draws: component frequencies against softmax(logits/T) by
 * Pearson χ² at α = 1e-4 (K − 1 dof), and per component and dimension the mean
 * within 5 standard errors (s·σ/√n_k) and the variance within 5 standard
 * errors of a normal sample variance ((s·σ)²·√(2/(n_k − 1))).
 * Returns the worst |error|/SE seen, for the report.
 */
function checkRow(spec: MixtureSpec, z: Float32Array, comps: Int32Array, offset: number, count: number, T: number, s: number): { chi2: number; worstZ: number } {
  const k = spec.logits.length;
  const dim = spec.means.length / k;
  const p = softmax(spec.logits, T);
  const counts = new Array(k).fill(0);
  const byComp: number[][][] = Array.from({ length: k }, () => Array.from({ length: dim }, () => []));
  for (let i = 0; i < count; i++) {
    const c = comps[offset + i];
    counts[c]++;
    for (let j = 0; j < dim; j++) byComp[c][j].push(z[(offset + i) * dim + j]);
  }
  const chi2 = chiSquare(counts, p, count);
  expect(chi2).toBeLessThan(k - 1 === 2 ? 18.42 : chiSquareBound(k - 1)); // χ²₂ at 1e-4 is −2·ln(1e-4) exactly
  let worstZ = 0;
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < dim; j++) {
      const { mean, variance, n } = meanVar(byComp[c][j]);
      const sd = s * spec.sigmas[c * dim + j];
      const zMean = Math.abs(mean - spec.means[c * dim + j]) / (sd / Math.sqrt(n));
      const zVar = Math.abs(variance - sd * sd) / (sd * sd * Math.sqrt(2 / (n - 1)));
      expect(zMean).toBeLessThan(5);
      expect(zVar).toBeLessThan(5);
      worstZ = Math.max(worstZ, zMean, zVar);
    }
  }
  return { chi2, worstZ };
}

describe('decoupled sampling (docs/method.md §7.2 decoupled sampling)', () => {
  it('1-D: component frequencies follow softmax(logits/T) and within-component variance scales by s²', () => {
    const n = 40_000;
    for (const [T, s] of [
      [1, 1],
      [2, 0.5],
      [0.7, 1.4],
    ]) {
      const d = drawDecoupled(replicate(oneD, 1), n, new Rng(`1d-${T}-${s}`), { temperature: T, scale: s });
      expect(d.z.length).toBe(n);
      const { chi2, worstZ } = checkRow(oneD, d.z, d.components, 0, n, T, s);
      console.log(`decoupled 1-D T=${T} s=${s}: χ²=${chi2.toFixed(2)} (bound 18.42), worst moment |z|=${worstZ.toFixed(2)} (bound 5)`);
    }
  });

  it('2-D: per-row mixtures, frequencies and per-dimension variances (diagonal σ)', () => {
    const rows = 3;
    const n = 15_000;
    // Row r shifts its logits, so each row has its own mixture weights.
    const g = replicate(twoD, rows);
    const specs: MixtureSpec[] = [];
    for (let r = 0; r < rows; r++) {
      const logits = twoD.logits.map((l, c) => l + (r === c ? 1.5 : 0));
      g.logits.set(logits, r * 3);
      specs.push({ ...twoD, logits });
    }
    const T = 1.3;
    const s = 0.9; // the paper's unguided setting
    expect(PAPER_UNGUIDED_DECOUPLED).toEqual({ temperature: T, scale: s });
    const d = drawDecoupled(g, n, new Rng('2d'), PAPER_UNGUIDED_DECOUPLED);
    expect(d.z.length).toBe(rows * n * 2);
    for (let r = 0; r < rows; r++) {
      const { chi2, worstZ } = checkRow(specs[r], d.z, d.components, r * n, n, T, s);
      console.log(`decoupled 2-D row ${r}: χ²=${chi2.toFixed(2)} (bound 18.42), worst moment |z|=${worstZ.toFixed(2)} (bound 5)`);
    }
    // Dimensions are independent within a component: |corr| within 5/√n_k.
    const pick: number[][] = [[], []];
    for (let i = 0; i < n; i++) {
      if (d.components[i] !== 0) continue;
      pick[0].push(d.z[i * 2]);
      pick[1].push(d.z[i * 2 + 1]);
    }
    const a = meanVar(pick[0]);
    const b = meanVar(pick[1]);
    let cov = 0;
    for (let i = 0; i < pick[0].length; i++) cov += (pick[0][i] - a.mean) * (pick[1][i] - b.mean);
    const corr = cov / (pick[0].length - 1) / Math.sqrt(a.variance * b.variance);
    expect(Math.abs(corr)).toBeLessThan(5 / Math.sqrt(pick[0].length));
  });

  it('sampleDecoupled gives [B, dim] from each row`s own mixture; sampleDecoupledMany gives [B, count, dim]', () => {
    // Single-component rows at means 0, 100, 200 with σ = 1e-3: every sample sits on its row's mean.
    const g = replicate({ logits: [0], means: [0], sigmas: [1e-3] }, 3);
    g.means.set([0, 100, 200]);
    const one = sampleDecoupled(g, new Rng(1));
    expect(one.length).toBe(3);
    one.forEach((v, r) => expect(Math.abs(v - 100 * r)).toBeLessThan(0.01));
    const many = sampleDecoupledMany(g, 4, new Rng(1), { scale: 0.5 });
    expect(many.length).toBe(12);
    many.forEach((v, i) => expect(Math.abs(v - 100 * Math.floor(i / 4))).toBeLessThan(0.01));
  });

  it('is deterministic given the Rng seed', () => {
    const g = replicate(twoD, 4);
    const a = drawDecoupled(g, 7, new Rng(42), { temperature: 1.3, scale: 0.9 });
    const b = drawDecoupled(g, 7, new Rng(42), { temperature: 1.3, scale: 0.9 });
    expect(b.z).toEqual(a.z);
    expect(b.components).toEqual(a.components);
    expect(drawDecoupled(g, 7, new Rng(43), { temperature: 1.3, scale: 0.9 }).z).not.toEqual(a.z);
    expect(sampleDecoupled(g, new Rng(5))).toEqual(sampleDecoupled(g, new Rng(5)));
  });

  it('handles extreme and non-finite logits as limits', () => {
    const g = replicate({ logits: [1e30, 0, -1e30], means: [1, 2, 3], sigmas: [1e-3, 1e-3, 1e-3] }, 1);
    expect(Array.from(drawDecoupled(g, 50, new Rng(1)).components).every((c) => c === 0)).toBe(true);
    g.logits.set([NaN, -Infinity, 0]); // NaN and -∞ are weight 0
    expect(Array.from(drawDecoupled(g, 50, new Rng(1)).components).every((c) => c === 2)).toBe(true);
    g.logits.set([Infinity, 0, Infinity]); // +∞ entries share the mass
    const comps = drawDecoupled(g, 2000, new Rng(1)).components;
    const zeros = comps.filter((c) => c === 0).length;
    expect(comps.every((c) => c === 0 || c === 2)).toBe(true);
    expect(Math.abs(zeros - 1000)).toBeLessThan(5 * Math.sqrt(2000 * 0.25));
  });

  it('never returns NaN: a dead row or a broken drawn component is FARMER_E_NON_FINITE naming the row', () => {
    const g = replicate(oneD, 2);
    g.logits.fill(-Infinity, 3, 6);
    const e = farmerError(() => sampleDecoupled(g, new Rng(1)));
    expect(e.code).toBe('FARMER_E_NON_FINITE');
    expect(e.details).toMatchObject({ field: 'logits', row: 1 });
    const h = replicate({ logits: [0], means: [NaN], sigmas: [1] }, 1);
    expect(farmerError(() => sampleDecoupled(h, new Rng(1))).details).toMatchObject({ field: 'means/sigmas', row: 0, component: 0 });
    h.means[0] = 0;
    h.sigmas[0] = -1;
    expect(farmerError(() => sampleDecoupled(h, new Rng(1))).code).toBe('FARMER_E_NON_FINITE');
  });

  it('validation errors name the field and the allowed range', () => {
    const g = replicate(oneD, 1);
    for (const [opts, count, field] of [
      [{ temperature: -1 }, 1, 'temperature'],
      [{ temperature: 0 }, 1, 'temperature'],
      [{ scale: 0 }, 1, 'scale'],
      [{ scale: NaN }, 1, 'scale'],
      [{}, 0, 'count'],
      [{}, 1.5, 'count'],
    ] as const) {
      const e = farmerError(() => drawDecoupled(g, count, new Rng(1), opts));
      expect(e.code).toBe('FARMER_E_BAD_INPUT');
      expect(e.details.field).toBe(field);
      expect(e.message).toContain(field);
      expect(e.message).toMatch(/must be/);
    }
    const bad = { ...g, means: new Float32Array(2) };
    expect(farmerError(() => sampleDecoupled(bad, new Rng(1))).code).toBe('FARMER_E_SHAPE');
  });
});
