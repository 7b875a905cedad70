import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmerModel, preset, tfLikelihood } from '@farmer/ar-gmm';
import { initBackend, isFarmerError, Rng, type U8Images } from '@farmer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auroc, computeOodStats, evaluateBayesClassifier, evaluateOod, fprAtTpr, OOD_ORIENTATION, OOD_SCORES, readOodStats, scoreOod, writeOodStats } from '../src/index.js';

let model: FarmerModel;
const images = (count: number, seed: string, max = 256): U8Images => ({ data: Uint8Array.from(new Rng(seed).uniform(count * 784), (u) => Math.floor(u * max)), count, height: 28, width: 28, channels: 1 });

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  model = FarmerModel.create({ ...preset('mnist-tiny'), numClasses: 3 }, 5);
});
afterAll(() => model?.dispose());

describe('OOD scores and their training statistics', () => {
  it('writes, reads and refuses missing or corrupt statistics with how to make them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'farmer-ood-'));
    expect(() => readOodStats(dir)).toThrow(/farmer eval ood --checkpoint/);
    const lik = tfLikelihood(model);
    const stats = await computeOodStats(lik, images(4, 'train'), 'synthetic');
    await writeOodStats(dir, stats);
    expect(readOodStats(dir)).toEqual(stats);
    writeFileSync(join(dir, 'ood-stats.json'), '{"format":"other"}');
    expect(() => readOodStats(dir)).toThrow(/not a farmer-ood-stats file/);
    writeFileSync(join(dir, 'ood-stats.json'), JSON.stringify({ ...stats, version: 1 }));
    expect(() => readOodStats(dir)).toThrow(/version 1, from an older farmer-ts.*--refresh-stats/);
    expect(stats.version).toBe(2);
    expect(stats.excluded).toBe(0);
    expect(stats.complexity.mean[0]).toBeCloseTo(stats.bitsPerDim.mean, 12);
    expect(stats.complexity.mean[1]).toBeCloseTo(stats.pngBitsPerDim.mean, 12);
    // The variances carry the one-byte rounding floor (8/784)²/12; full-range noise compresses to one PNG size, so PNG's variance is the floor alone.
    const floor = (8 / 784) ** 2 / 12;
    expect(stats.complexity.covariance[0][0]).toBeCloseTo(stats.bitsPerDim.std ** 2 + floor, 12);
    expect(stats.complexity.covariance[1][1]).toBeCloseTo(stats.pngBitsPerDim.std ** 2 + floor, 12);
    // Dark images (values < 32) against full-range noise: each AUROC and FPR is that of its own scores, by the score's fixed orientation.
    const r = await evaluateOod(lik, images(4, 'in', 32), images(4, 'out'), stats);
    for (const k of OOD_SCORES) {
      const sign = OOD_ORIENTATION[k] === 'higher' ? 1 : -1;
      const turn = (a: Float64Array) => a.map((v) => sign * v);
      expect(r.auroc[k]).toBe(auroc(turn(r.scores[k].out), turn(r.scores[k].in)));
      expect(r.fprAt95Tpr[k]).toBe(fprAtTpr(turn(r.scores[k].out), turn(r.scores[k].in)));
      expect(r.scores[k].in).toHaveLength(4);
      expect(r.scores[k].out.every((v) => !Number.isNaN(v))).toBe(true);
    }
    for (let i = 0; i < 4; i++) expect(r.scores.typicality.out[i]).toBeCloseTo(Math.abs(r.scores.bitsPerDim.out[i] - stats.bitsPerDim.mean), 12);
    // Full-range noise does not compress: PNG over 8 bits per dimension; dark images compress, and complexity (BPD − PNG bits) tells them apart.
    const out = await scoreOod(lik, images(4, 'out'), stats, { rng: new Rng('ood:out:0') });
    for (const k of OOD_SCORES) expect(Array.from(out.scores[k])).toEqual(Array.from(r.scores[k].out));
    expect(Math.min(...out.pngBitsPerDim)).toBeGreaterThan(8);
    const c = out.classification;
    for (let i = 0; i < 4; i++) {
      expect(c.terms.informative[i] + c.terms.redundant[i] + c.terms.logdet[i]).toBeCloseTo(c.terms.total[i], 6);
      expect(c.terms.total[i]).toBe(Math.max(...c.logLik.subarray(i * 3, i * 3 + 3)));
      expect(c.terms.logdet[i] / (49 * 16)).toBeCloseTo(c.logdetPerDim[i], 12);
    }
  });
});

describe('evaluateBayesClassifier', () => {
  it('reports accuracy, confusion, ECE and a temperature fitted on held-out images only', async () => {
    const lik = tfLikelihood(model);
    const test = { images: images(6, 'test'), labels: Int32Array.from([0, 1, 2, 0, 1, 2]) };
    const heldOut = { images: images(6, 'held'), labels: Int32Array.from([2, 1, 0, 2, 1, 0]) };
    const r = await evaluateBayesClassifier(lik, test, { heldOut });
    expect(r.images).toBe(6);
    expect(r.temperature.fittedOn).toBe(6);
    expect(r.temperature.value).toBeGreaterThan(0);
    expect(r.confusion.flat().reduce((a, b) => a + b, 0)).toBe(6);
    expect(r.accuracy).toBe(r.confusion.reduce((s, row, k) => s + row[k], 0) / 6);
    expect(r.bins).toHaveLength(15);
    expect(r.ece).toBeGreaterThanOrEqual(0);
    const plain = await evaluateBayesClassifier(lik, test);
    expect(plain.temperature).toEqual({ value: 1, fittedOn: 0 });
    expect(plain.ece).toBe(plain.eceAtT1);
  });

  it('an unconditional model is refused', async () => {
    const u = FarmerModel.create({ ...preset('mnist-tiny'), numClasses: 0 }, 1);
    try {
      await expect(evaluateBayesClassifier(tfLikelihood(u), { images: images(1, 'u'), labels: Int32Array.from([0]) })).rejects.toSatisfy((e: unknown) => isFarmerError(e) && /unconditional/.test(e.message));
    } finally {
      u.dispose();
    }
  });
});
