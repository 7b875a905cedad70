import { decodePng, type U8Images } from '@farmer/core';
import { findScaledImage } from '@farmer/test-utils';
import { describe, expect, it } from 'vitest';
import { classRows, labelledFigure } from '../src/figure.js';

/** `count` 8×8 images of `channels` channels with values that vary by image, pixel and channel. */
function images(count: number, channels: 1 | 3): U8Images {
  const data = Uint8Array.from({ length: count * 8 * 8 * channels }, (_, i) => (i * 73 + Math.floor(i / 7) * 29) % 256);
  return { data, count, height: 8, width: 8, channels };
}

describe('labelledFigure (the --per-class grid of farmer sample, the demo and explore figures)', () => {
  it.each([3, 1] as const)('is an RGB PNG (colour type 2) holding every sample of %i channel(s) exactly, each pixel a 2×2 block', async (channels) => {
    const im = images(6, channels);
    const png = await labelledFigure(classRows(im, [0, 0, 1, 1, 2, 2], 2, (y) => `class ${y}`), ['resampling-cfg']);
    // The IHDR: 8-bit RGB.
    expect([png[24], png[25]]).toEqual([8, 2]);
    const figure = decodePng(png, 3);
    const at = Array.from({ length: 6 }, (_, i) => findScaledImage(figure, { ...im, data: im.data.subarray(i * 64 * channels, (i + 1) * 64 * channels), count: 1 }, 2));
    expect(at.every(Boolean), `images found at ${JSON.stringify(at)}`).toBe(true);
    // One row per class, two images side by side.
    for (let c = 0; c < 3; c++) {
      expect(at[2 * c]!.y).toBe(at[2 * c + 1]!.y);
      expect(at[2 * c + 1]!.x).toBeGreaterThan(at[2 * c]!.x);
      if (c > 0) expect(at[2 * c]!.y).toBeGreaterThan(at[2 * c - 2]!.y);
    }
  });
});
