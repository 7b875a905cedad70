import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { floatNCHWToU8, quantizeToU8, u8ToFloatNCHW } from './image.js';
import { imagesToTensor, tensorToImages } from './image-tensors.js';
import { bitsPerDim, cosineSigma, noisyImages } from './noise.js';
import { Rng } from './rng.js';

const im = { data: Uint8Array.from({ length: 2 * 3 * 2 * 3 }, (_, i) => (i * 37) % 256), count: 2, height: 3, width: 2, channels: 3 };

describe('images', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  it('maps u8 HWC to NCHW in [-1, 1] with x = 2k/255 − 1', () => {
    const x = u8ToFloatNCHW(im);
    // image 1, channel 2, row 1, col 0 ← HWC byte ((1·3 + 1)·2 + 0)·3 + 2
    const k = im.data[((1 * 3 + 1) * 2 + 0) * 3 + 2];
    expect(x[((1 * 3 + 2) * 3 + 1) * 2 + 0]).toBeCloseTo((2 * k) / 255 - 1, 6);
    expect(Math.min(...x)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...x)).toBeLessThanOrEqual(1);
  });

  it('round-trips u8 → tensor → u8 exactly', async () => {
    const t = imagesToTensor(im);
    expect(t.shape).toEqual([2, 3, 3, 2]);
    const back = await tensorToImages(t);
    expect(back.data).toEqual(im.data);
    t.dispose();
  });

  it('quantises with clamp(round((x + 1)·127.5))', () => {
    expect(quantizeToU8(-1)).toBe(0);
    expect(quantizeToU8(1)).toBe(255);
    expect(quantizeToU8(5)).toBe(255);
    expect(quantizeToU8(-3)).toBe(0);
    expect(quantizeToU8(0)).toBe(128);
  });

  it('reports non-finite values with their position', () => {
    const v = new Float32Array(2 * 1 * 2 * 2);
    v[1 * 4 + 1 * 2 + 1] = NaN;
    expect(() => floatNCHWToU8(v, [2, 1, 2, 2])).toThrow(/image 1 has a non-finite value at channel 0, row 1, column 1/);
  });
});

describe('training noise', () => {
  it('follows the cosine σ schedule from σ_start to σ_end', () => {
    expect(cosineSigma(0, 100, 0.1, 0.005)).toBeCloseTo(0.1, 12);
    expect(cosineSigma(50, 100, 0.1, 0.005)).toBeCloseTo(0.0525, 12);
    expect(cosineSigma(100, 100, 0.1, 0.005)).toBeCloseTo(0.005, 12);
    expect(cosineSigma(500, 100, 0.1, 0.005)).toBeCloseTo(0.005, 12);
  });

  it('dequantises uniformly inside each bin of width 1/128', () => {
    const { values } = noisyImages(im, { mode: 'uniform' }, new Rng(1));
    const base = u8ToFloatNCHW({ ...im });
    for (let i = 0; i < values.length; i++) {
      const k = Math.round(((base[i] + 1) * 255) / 2);
      expect(values[i]).toBeGreaterThanOrEqual((2 * k) / 256 - 1);
      expect(values[i]).toBeLessThan((2 * (k + 1)) / 256 - 1);
    }
  });

  it('adds Gaussian noise with the scheduled σ, reproducibly', () => {
    const big = { data: new Uint8Array(20_000).fill(128), count: 1, height: 100, width: 200, channels: 1 };
    const a = noisyImages(big, { mode: 'gaussian', sigmaStart: 0.1, sigmaEnd: 0.005 }, new Rng(2), 0, 10);
    const b = noisyImages(big, { mode: 'gaussian', sigmaStart: 0.1, sigmaEnd: 0.005 }, new Rng(2), 0, 10);
    expect(a.values).toEqual(b.values);
    expect(a.sigma).toBeCloseTo(0.1, 12);
    const x0 = (2 * 128) / 255 - 1;
    const sd = Math.sqrt(a.values.reduce((s, v) => s + (v - x0) ** 2, 0) / a.values.length);
    expect(Math.abs(sd - 0.1)).toBeLessThan(0.003);
  });

  it('converts NLL per dim to bits/dim with the ln 128 bin term', () => {
    expect(bitsPerDim(-Math.log(128))).toBeCloseTo(0, 12);
    expect(bitsPerDim(1)).toBeCloseTo((1 + Math.log(128)) / Math.LN2, 12);
  });
});
