import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, type U8Images } from '@farmer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  computeReferenceStats,
  decodeReferenceStats,
  encodeReferenceStats,
  featureStats,
  loadReferenceStats,
  saveReferenceStats,
  type FeatureExtractor,
  type ReferenceStats,
} from '../src/index.js';
import { maxAbsDiff } from '@farmer/test-utils';
import { randomFeatures } from './helpers.js';

const inception = { id: 'pt_inception-2015-12-05/pool3', hash: 'a'.repeat(64) };
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'farmer-eval-ref-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function reference(): ReferenceStats {
  return { ...featureStats(randomFeatures(50, 6, 'ref')), extractor: inception, source: 'mnist:train' };
}

describe('reference statistics', () => {
  it('round-trip through safetensors (F64) exactly, written atomically', async () => {
    const ref = reference();
    const file = join(dir, 'ref.safetensors');
    await saveReferenceStats(file, ref);
    expect((await fs.readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const back = await loadReferenceStats(file, { extractor: { ...inception } });
    expect(back.count).toBe(50);
    expect(back.dim).toBe(6);
    expect(back.source).toBe('mnist:train');
    expect(back.extractor).toEqual(inception);
    expect(maxAbsDiff(back.mean, ref.mean)).toBe(0);
    expect(maxAbsDiff(back.cov, ref.cov)).toBe(0);
  });

  it('refuses stale statistics: another extractor, or the same name with another hash', async () => {
    const file = join(dir, 'stale.safetensors');
    await saveReferenceStats(file, reference());
    for (const extractor of [
      { id: 'builtin-mnist-classifier', hash: inception.hash },
      { id: inception.id, hash: 'b'.repeat(64) },
    ]) {
      await expect(loadReferenceStats(file, { extractor })).rejects.toMatchObject({
        code: 'FARMER_E_BAD_INPUT',
        message: expect.stringMatching(/^stale reference statistics: .*stale\.safetensors .*Recompute/),
        details: expect.objectContaining({ reason: 'stale-reference-stats', found: inception, expected: extractor }),
      });
    }
  });

  it('reports missing, foreign, newer and damaged files with their own codes', async () => {
    await expect(loadReferenceStats(join(dir, 'nope.safetensors'), { extractor: inception })).rejects.toMatchObject({ code: 'FARMER_E_NOT_FOUND' });
    const bytes = encodeReferenceStats(reference());
    expect(() => decodeReferenceStats(bytes.subarray(0, bytes.length - 8), 'cut')).toThrow(expect.objectContaining({ code: 'FARMER_E_CORRUPT' }));
    const foreign = encodeSafetensors({ w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, { format: 'farmer-checkpoint' });
    expect(() => decodeReferenceStats(foreign, 'ckpt')).toThrow(/not a reference statistics file/);
    const ref = reference();
    const meta = { format: 'farmer-eval-reference-stats', version: '2', count: '50', dim: '6', extractor_id: 'x', extractor_hash: 'y' };
    const newer = encodeSafetensors({ mean: { dtype: 'F64', shape: [6], data: ref.mean }, cov: { dtype: 'F64', shape: [6, 6], data: ref.cov } }, meta);
    expect(() => decodeReferenceStats(newer)).toThrow(expect.objectContaining({ code: 'FARMER_E_VERSION' }));
    const wrongShape = encodeSafetensors({ mean: { dtype: 'F64', shape: [6], data: ref.mean }, cov: { dtype: 'F64', shape: [36], data: ref.cov } }, { ...meta, version: '1' });
    expect(() => decodeReferenceStats(wrongShape)).toThrow(/'cov' of shape \[6, 6\]/);
  });

  it('computeReferenceStats streams an extractor over image slices', async () => {
    // A stand-in extractor: the features of an image are its pixel values.
    const calls: number[] = [];
    const pixels: FeatureExtractor = {
      identity: { id: 'pixels', hash: 'p' },
      async extract(images: U8Images) {
        calls.push(images.count);
        return { data: Float32Array.from(images.data), count: images.count, dim: images.height * images.width * images.channels };
      },
      async dispose() {},
    };
    const data = Uint8Array.from({ length: 30 * 4 }, (_, i) => (i * 37) % 251);
    const images: U8Images = { data, count: 30, height: 2, width: 2, channels: 1 };
    const done: number[] = [];
    const ref = await computeReferenceStats(pixels, images, { imagesPerCall: 8, onProgress: (d) => done.push(d) });
    expect(calls).toEqual([8, 8, 8, 6]);
    expect(ref.extractor).toEqual({ id: 'pixels', hash: 'p' });
    const direct = featureStats({ data: Float64Array.from(data), count: 30, dim: 4 });
    expect(maxAbsDiff(ref.cov, direct.cov)).toBeLessThan(1e-9);
    expect(maxAbsDiff(ref.mean, direct.mean)).toBeLessThan(1e-12);
  });
});
