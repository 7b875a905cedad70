import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { pngBitsPerDim } from './png-complexity.js';
import { Rng } from './rng.js';

const noise = (n: number, seed: string) => Uint8Array.from(new Rng(seed).uniform(n), (u) => Math.floor(u * 256));

describe('pngBitsPerDim (docs/method.md §5.5 OOD scores)', () => {
  it("is 8·(bytes of sharp's maximum-compression PNG)/(H·W·C), per image, grey and RGB", async () => {
    for (const channels of [1, 3] as const) {
      const dims = 28 * 28 * channels;
      const data = new Uint8Array(2 * dims);
      data.set(noise(dims, `n${channels}`), dims);
      const bits = await pngBitsPerDim({ data, count: 2, height: 28, width: 28, channels });
      const raw = sharp(Buffer.from(data.subarray(dims)), { raw: { width: 28, height: 28, channels } });
      const second = await (channels === 1 ? raw.toColourspace('b-w') : raw).png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer();
      expect(bits[1]).toBe((8 * second.length) / dims);
      // A constant image compresses to little more than its headers; uniform noise cannot be compressed below 8 bits.
      expect(bits[0]).toBeLessThan(1.5);
      expect(bits[1]).toBeGreaterThan(8);
      const meta = await sharp(second).metadata();
      expect(meta.channels).toBe(channels);
    }
  });

  it('refuses 4 channels and a buffer of the wrong size', async () => {
    await expect(pngBitsPerDim({ data: new Uint8Array(16), count: 1, height: 2, width: 2, channels: 4 })).rejects.toThrow(/1 or 3 channels/);
    await expect(pngBitsPerDim({ data: new Uint8Array(3), count: 1, height: 2, width: 2, channels: 1 })).rejects.toThrow(/expected/);
  });
});
