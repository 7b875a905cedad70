import { describe, expect, it } from 'vitest';
import { BLACK_BACKGROUND, checkBackground, compositeChannel, WHITE_BACKGROUND } from './background.js';
import { isFarmerError } from './errors.js';
import { decodePng, encodePng } from './png.js';

/** One RGBA PNG row: a pixel per alpha in `alphas`, colour (200, 100, 30). */
function rgbaRow(alphas: number[]): Uint8Array {
  const data = new Uint8Array(alphas.length * 4);
  alphas.forEach((a, i) => data.set([200, 100, 30, a], i * 4));
  return encodePng({ data, count: 1, height: 1, width: alphas.length, channels: 4 });
}

describe('the transparency rule (docs/method.md §2.6 Transparency)', () => {
  it('composites straight alpha: a = 0 gives the background, a = 255 the colour, a = 128 the weighted mean', () => {
    expect(compositeChannel(200, 0, 17)).toBe(17);
    expect(compositeChannel(200, 255, 17)).toBe(200);
    // 200·128/255 + 100·127/255 = 38300/255 = 150.196…
    expect(compositeChannel(200, 128, 100)).toBeCloseTo(38300 / 255, 12);
    expect(compositeChannel(0, 128, 255)).toBeCloseTo((255 * 127) / 255, 12);
  });

  it('decodePng composites on the background it is given, per channel, rounded', () => {
    const png = rgbaRow([0, 255, 128]);
    expect(Array.from(decodePng(png, 3, { background: WHITE_BACKGROUND }).data)).toEqual([
      255, 255, 255,
      200, 100, 30,
      // round(c·128/255 + 255·127/255)
      Math.round((200 * 128 + 255 * 127) / 255), Math.round((100 * 128 + 255 * 127) / 255), Math.round((30 * 128 + 255 * 127) / 255),
    ]);
    expect(Array.from(decodePng(png, 3, { background: [10, 20, 40] }).data.subarray(0, 3))).toEqual([10, 20, 40]);
    // Grey: the luma of the unrounded composited channels, rounded.
    const r = (200 * 128 + 10 * 127) / 255;
    const g = (100 * 128 + 20 * 127) / 255;
    const b = (30 * 128 + 40 * 127) / 255;
    expect(decodePng(png, 1, { background: [10, 20, 40] }).data[2]).toBe(Math.round(0.299 * r + 0.587 * g + 0.114 * b));
  });

  it('keeps black as the default: the same bytes as before backgrounds existed (c·a, rounded)', () => {
    const alphas = Array.from({ length: 256 }, (_, a) => a);
    const png = rgbaRow(alphas);
    const rgb = decodePng(png, 3);
    expect(rgb.data).toEqual(decodePng(png, 3, { background: BLACK_BACKGROUND }).data);
    // The formula decodePng had: round(c · alpha/255) per channel, grey the luma of the unrounded products.
    alphas.forEach((alpha, p) => {
      const a = alpha / 255;
      expect([rgb.data[p * 3], rgb.data[p * 3 + 1], rgb.data[p * 3 + 2]]).toEqual([Math.round(200 * a), Math.round(100 * a), Math.round(30 * a)]);
      expect(decodePng(png, 1).data[p]).toBe(Math.round(0.299 * 200 * a + 0.587 * 100 * a + 0.114 * 30 * a));
    });
  });

  it('refuses a background that is not three integers 0..255', () => {
    for (const bad of [[0, 0], [0, 0, 256], [0, -1, 0], [0.5, 0, 0]]) {
      let err: unknown;
      try {
        checkBackground(bad as unknown as [number, number, number]);
      } catch (e) {
        err = e;
      }
      expect(isFarmerError(err, 'FARMER_E_BAD_INPUT'), String(bad)).toBe(true);
      expect((err as Error).message).toMatch(/background must be an RGB triple of integers 0\.\.255/);
    }
    expect(checkBackground([1, 2, 3])).toEqual([1, 2, 3]);
  });
});
