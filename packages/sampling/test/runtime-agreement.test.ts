import type { U8Images } from '@farmer/core/browser';
import { describe, expect, it } from 'vitest';
import { compareRuntimeImages, RUNTIME_AGREEMENT } from '../src/index.js';

/** `count` grey 10×10 images of value 100. */
const images = (count: number): U8Images => ({ data: new Uint8Array(count * 100).fill(100), count, height: 10, width: 10, channels: 1 });

describe('compareRuntimeImages (docs/method.md §7.10 runtime agreement)', () => {
  it('identical sets hold, with every image identical', () => {
    const r = compareRuntimeImages(images(5), images(5));
    expect(r).toMatchObject({ images: 5, identical: 5, diverged: [], divergedAllowed: 1, roundedPixels: 0, comparedPixels: 500, holds: true });
  });

  it('1-level rounding on at most 0.1% of the pixels holds; more pixels, or 2 levels, do not count as rounding', () => {
    const a = images(100);
    const b = images(100);
    for (let k = 0; k < 10; k++) b.data[k * 1000] = 101; // 10 of 10,000 pixels: exactly 0.1%
    let r = compareRuntimeImages(a, b);
    expect([r.holds, r.identical, r.roundedPixels, r.maxRoundedLevels]).toEqual([true, 90, 10, 1]);
    b.data[5] = 99; // an 11th pixel
    r = compareRuntimeImages(a, b);
    expect([r.holds, r.roundedPixels]).toEqual([false, 11]);
    expect(r.summary).toContain('11 of 10000 pixels');
  });

  it('an image more than 1 level apart is diverged, and at most ⌈2%⌉ of the images may be', () => {
    const a = images(50);
    const b = images(50);
    b.data[7 * 100 + 3] = 250; // image 7 diverged
    let r = compareRuntimeImages(a, b);
    expect([r.holds, r.diverged, r.divergedAllowed, r.roundedPixels, r.comparedPixels]).toEqual([true, [7], 1, 0, 4900]);
    b.data[20 * 100] = 102; // image 20: 2 levels, a second diverged image of 50
    r = compareRuntimeImages(a, b);
    expect([r.holds, r.diverged]).toEqual([false, [7, 20]]);
    expect(Math.ceil(RUNTIME_AGREEMENT.maxDivergedShare * 1000)).toBe(20);
  });

  it('diverged images do not count against the pixel share of the others', () => {
    const a = images(3);
    const b = images(3);
    b.data.fill(0, 100, 200); // image 1: every pixel 100 levels apart
    const r = compareRuntimeImages(a, b);
    expect([r.holds, r.diverged, r.roundedPixels, r.comparedPixels]).toEqual([true, [1], 0, 200]);
  });

  it('refuses sets of different shapes', () => {
    expect(() => compareRuntimeImages(images(2), images(3))).toThrow(/FARMER_E_SHAPE|2×10×10×1 vs 3×10×10×1/);
  });
});
