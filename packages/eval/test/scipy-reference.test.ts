import { readFileSync } from 'node:fs';
import { decodeSafetensors } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { featureStats, fid, inceptionScore, kidOnSubsets, precisionRecall, type FeatureMatrix, type KidSubset } from '../src/index.js';
import { maxAbsDiff } from '@farmer/test-utils';
import { expectClose } from './helpers.js';

// Produced by test/fixtures/make_metric_reference.py (NumPy/SciPy, float64).
const dir = new URL('./fixtures/', import.meta.url);
const { tensors } = decodeSafetensors(readFileSync(new URL('metric-reference.safetensors', dir)), 'metric-reference.safetensors');
const expected = JSON.parse(readFileSync(new URL('metric-reference.json', dir), 'utf8'));

function matrix(name: string): FeatureMatrix {
  const t = tensors[name];
  return { data: t.data as Float64Array, count: t.shape[0], dim: t.shape[1] };
}

function rows(name: string): Int32Array[] {
  const t = tensors[name];
  const m = t.shape[1];
  return Array.from({ length: t.shape[0] }, (_, i) => (t.data as Int32Array).slice(i * m, (i + 1) * m));
}

const x = matrix('x');
const y = matrix('y');
const r = matrix('r');

describe('agreement with the NumPy/SciPy reference values', () => {
  it('feature mean and covariance match np.mean / np.cov', () => {
    const s = featureStats(x);
    expect(maxAbsDiff(s.mean, tensors.x_mean.data as Float64Array)).toBeLessThan(1e-14);
    expect(maxAbsDiff(s.cov, tensors.x_cov.data as Float64Array)).toBeLessThan(1e-14);
  });

  it('FID matches scipy.linalg.sqrtm (full rank) and the 50-digit value (rank-deficient)', () => {
    expectClose(fid(x, y), expected.fid_xy, 1e-12);
    expectClose(fid(x, y), expected.fid_mpmath.fid_xy, 1e-12);
    expect(r.count).toBeLessThan(r.dim);
    // sqrtm leaves ~1e-8 relative round-off on the singular covariance; the clean value is exact to 1e-15.
    expectClose(fid(r, y), expected.fid_ry_low_rank, 1e-12);
    expectClose(fid(r, y), expected.fid_ry, 1e-7);
  });

  it('KID on the saved subsets matches the torch-fidelity estimator', () => {
    const xs = rows('kid_x_idx');
    const ys = rows('kid_y_idx');
    const subsets: KidSubset[] = xs.map((xi, i) => ({ x: xi, y: ys[i] }));
    const got = kidOnSubsets(x, y, subsets);
    expect(got.subsetSize).toBe(100);
    expect(maxAbsDiff(got.values, expected.kid.values)).toBeLessThan(1e-12);
    expectClose(got.mean, expected.kid.mean, 1e-12);
    expectClose(got.std, expected.kid.std, 1e-10);
  });

  it('precision and recall (k = 3) match the cdist computation', () => {
    const got = precisionRecall(x, y, { k: expected.pr.k });
    expect(got.precision).toBe(expected.pr.precision);
    expect(got.recall).toBe(expected.pr.recall);
    // Block size does not matter.
    expect(precisionRecall(x, y, { chunkSize: 37 })).toEqual(got);
  });

  it('Inception Score matches the reference over 10 splits', () => {
    const got = inceptionScore(matrix('probs'), { splits: expected.inception_score.splits });
    expectClose(got.mean, expected.inception_score.mean, 1e-13);
    expectClose(got.std, expected.inception_score.std, 1e-11);
  });
});
