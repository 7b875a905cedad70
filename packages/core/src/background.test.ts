import { describe, expect, it } from 'vitest';
import { backgroundOf, BLACK_BACKGROUND, checkBackground, compositeChannel, compositeRgba, sameBackground, WHITE_BACKGROUND } from './background.js';
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

  it('compositeRgba is decodePng without the PNG: the same pixels for the same straight RGBA, grey or colour', () => {
    // Every alpha 0..255 over colours that vary by pixel, plus exact greys (R = G = B) at several alphas.
    const rgba = new Uint8Array(272 * 4);
    for (let p = 0; p < 256; p++) rgba.set([(p * 37) % 256, (p * 91 + 11) % 256, 255 - p, p], p * 4);
    for (let p = 256; p < 272; p++) rgba.set([(p * 13) % 256, (p * 13) % 256, (p * 13) % 256, (p * 17) % 256], p * 4);
    const png = encodePng({ data: rgba, count: 1, height: 16, width: 17, channels: 4 });
    for (const background of [BLACK_BACKGROUND, WHITE_BACKGROUND, [30, 200, 90] as const]) {
      for (const channels of [1, 3] as const) {
        expect(compositeRgba(rgba, channels, background), `${channels} on ${background}`).toEqual(decodePng(png, channels, { background }).data);
      }
    }
    // A grey PNG (colour type 0) given for 3 channels is replicated, never read as RGB triples.
    const grey = encodePng({ data: Uint8Array.from({ length: 12 }, (_, i) => i * 20), count: 1, height: 3, width: 4, channels: 1 });
    const rgb = decodePng(grey, 3, { background: WHITE_BACKGROUND });
    expect([rgb.width, rgb.height, rgb.channels]).toEqual([4, 3, 3]);
    expect(Array.from(rgb.data)).toEqual(Array.from({ length: 12 }, (_, i) => [i * 20, i * 20, i * 20]).flat());
    expect(() => compositeRgba(new Uint8Array(7), 3)).toThrow(/4 values each/);
  });

  it('backgroundOf reads an absent background as black; sameBackground compares colours', () => {
    expect(backgroundOf({})).toEqual([0, 0, 0]);
    expect(backgroundOf({ background: WHITE_BACKGROUND })).toEqual([255, 255, 255]);
    expect(sameBackground(backgroundOf({}), BLACK_BACKGROUND)).toBe(true);
    expect(sameBackground([255, 255, 255], [255, 255, 254])).toBe(false);
  });
});
