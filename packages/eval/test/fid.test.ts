import { Rng } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { featureStats, FeatureStatsAccumulator, fid, frechetDistance, symEigen, traceSqrtProduct, type FeatureStats } from '../src/index.js';
import { maxAbsDiff } from '@farmer/test-utils';
import { expectClose, fromEigen, randomFeatures, randomOrthogonal, randomPsd } from './helpers.js';

function gaussian(mean: number[], cov: Float64Array): FeatureStats {
  return { mean: Float64Array.from(mean), cov, count: 1000, dim: mean.length };
}

/** S^½ through the eigendecomposition (eigenvalues clipped at 0): the textbook route, as an independent check. */
function sqrtPsd(s: Float64Array, n: number): Float64Array {
  const { values, vectors } = symEigen(s, n);
  return fromEigen(vectors, Array.from(values, (v) => Math.sqrt(Math.max(v, 0))), n);
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * n + k] * b[k * n + j];
  return c;
}

describe('feature statistics', () => {
  it('streaming batches give the same mean and covariance as one pass', () => {
    const x = randomFeatures(700, 9, 'stats', 3);
    for (let i = 0; i < x.data.length; i++) x.data[i] += 1000; // a large offset tests the centring
    const whole = featureStats(x);
    const acc = new FeatureStatsAccumulator(9);
    for (const [a, b] of [
      [0, 1],
      [1, 300],
      [300, 301],
      [301, 700],
    ]) {
      acc.add({ data: x.data.subarray(a * 9, b * 9), count: b - a, dim: 9 });
    }
    const streamed = acc.finalize();
    expect(streamed.count).toBe(700);
    expect(maxAbsDiff(streamed.mean, whole.mean)).toBeLessThan(1e-10);
    expect(maxAbsDiff(streamed.cov, whole.cov)).toBeLessThan(1e-10);
    // Direct two-pass reference.
    const mean = new Float64Array(9);
    for (let r = 0; r < 700; r++) for (let t = 0; t < 9; t++) mean[t] += x.data[r * 9 + t] / 700;
    let c01 = 0;
    for (let r = 0; r < 700; r++) c01 += (x.data[r * 9] - mean[0]) * (x.data[r * 9 + 1] - mean[1]);
    expectClose(whole.cov[1], c01 / 699, 1e-10, 1e-12);
    expect(maxAbsDiff(whole.mean, mean)).toBeLessThan(1e-9);
  });

  it('accepts float32 features and rejects NaN, mismatched dims and single rows', () => {
    const x = randomFeatures(10, 3, 'f32');
    const f32 = { data: Float32Array.from(x.data), count: 10, dim: 3 };
    expect(maxAbsDiff(featureStats(f32).mean, featureStats({ ...x, data: Float64Array.from(f32.data) }).mean)).toBe(0);
    f32.data[7] = NaN;
    expect(() => featureStats(f32)).toThrow(/row 2, column 1 is NaN/);
    const acc = new FeatureStatsAccumulator(3);
    expect(() => acc.add(randomFeatures(2, 4, 1))).toThrow(expect.objectContaining({ code: 'FARMER_E_SHAPE' }));
    acc.add(randomFeatures(1, 3, 1));
    expect(() => acc.finalize()).toThrow(/at least 2 rows/);
  });
});

describe('FID', () => {
  it('is 0 for a set with itself', () => {
    const x = randomFeatures(400, 24, 'self');
    const s = featureStats(x);
    const trace = Array.from({ length: 24 }, (_, i) => s.cov[i * 25]).reduce((a, b) => a + b);
    expect(frechetDistance(s, s)).toBeLessThan(1e-12 * trace);
    expect(fid(x, x)).toBeLessThan(1e-12 * trace);
  });

  it('equals the closed form for diagonal covariances', () => {
    // FID = ‖μ₁ − μ₂‖² + Σ (√a − √b)² when both covariances are diagonal.
    const a = [1, 4, 0.25, 9, 2];
    const b = [4, 1, 1, 9, 0.5];
    const diag = (d: number[]) => fromEigen(Float64Array.from({ length: 25 }, (_, i) => (i % 6 === 0 ? 1 : 0)), d, 5);
    const m1 = [0, 1, 2, 3, 4];
    const m2 = [1, 1, 0, 3, 4];
    const want = 1 + 4 + a.reduce((s, ai, i) => s + (Math.sqrt(ai) - Math.sqrt(b[i])) ** 2, 0);
    expectClose(frechetDistance(gaussian(m1, diag(a)), gaussian(m2, diag(b))), want, 1e-13);
  });

  it('equals the closed form for commuting (shared-eigenbasis) covariances, including singular ones', () => {
    const n = 30;
    const q = randomOrthogonal(n, 'basis');
    const rng = new Rng('spectra');
    const m1 = Array.from({ length: n }, () => rng.next());
    const m2 = Array.from({ length: n }, () => rng.next());
    const closedForm = (a: number[], b: number[]) => {
      let v = a.reduce((s, ai, i) => s + (Math.sqrt(ai) - Math.sqrt(b[i])) ** 2, 0);
      for (let i = 0; i < n; i++) v += (m1[i] - m2[i]) ** 2;
      return v;
    };
    const full = Array.from({ length: n }, () => 0.1 + 5 * rng.next());
    const singular = Array.from({ length: n }, (_, i) => (i < 8 ? 0 : 0.1 + 5 * rng.next())); // rank 22
    const otherSingular = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : 0.1 + 5 * rng.next()));
    const dist = (a: number[], b: number[]) => frechetDistance(gaussian(m1, fromEigen(q, a, n)), gaussian(m2, fromEigen(q, b, n)));
    // A singular S₁ or S₂ alone loses nothing: the factor drops S₁'s null space exactly.
    expectClose(dist(singular, full), closedForm(singular, full), 1e-11);
    expectClose(dist(full, singular), closedForm(full, singular), 1e-11);
    // Directions in range(S₁) ∩ null(S₂) leave eigenvalues of size ε·‖M‖ whose square roots,
    // ~1e-8·√‖M‖ each, no float64 method avoids (scipy's sqrtm has the same floor).
    expectClose(dist(singular, otherSingular), closedForm(singular, otherSingular), 1e-8);
  });

  it('agrees with the eigendecomposition route tr((S₁^½ S₂ S₁^½)^½) on general covariances', () => {
    const n = 25;
    const s1 = randomPsd(n, 25, 's1');
    const s2 = randomPsd(n, 25, 's2');
    const r = sqrtPsd(s1, n);
    const inner = matmul(matmul(r, s2, n), r, n);
    const want = symEigen(inner, n, { vectors: false }).values.reduce((s, v) => s + Math.sqrt(Math.max(v, 0)), 0);
    expectClose(traceSqrtProduct(s1, s2, n), want, 1e-11);
  });

  it('is stable on rank-deficient covariances (n < f)', () => {
    const f = 64;
    const x = randomFeatures(20, f, 'few'); // covariance rank 19 of 64
    const s = featureStats(x);
    const trace = Array.from({ length: f }, (_, i) => s.cov[i * (f + 1)]).reduce((p, v) => p + v);
    expect(fid(x, x)).toBeLessThan(1e-10 * trace);
    // A shifted copy has the same covariance: FID is exactly the squared shift.
    const shifted = { ...x, data: x.data.map((v, i) => v + ((i % f) % 3 === 0 ? 0.5 : 0)) };
    const shift2 = 0.25 * Math.ceil(f / 3);
    expectClose(fid(x, shifted), shift2, 1e-10, 1e-9 * trace);
    // Two different rank-deficient sets: finite, positive and symmetric.
    const y = randomFeatures(15, f, 'fewer');
    const d1 = fid(x, y);
    expect(d1).toBeGreaterThan(0);
    expectClose(fid(y, x), d1, 1e-9);
  });

  it('refuses statistics of different dims', () => {
    const a = featureStats(randomFeatures(5, 3, 1));
    const b = featureStats(randomFeatures(5, 4, 2));
    expect(() => frechetDistance(a, b)).toThrow(/same feature extractor/);
  });
});
