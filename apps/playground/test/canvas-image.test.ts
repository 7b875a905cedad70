import { BLACK_BACKGROUND, decodePng, encodePng, WHITE_BACKGROUND } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { canvasImage } from '../src/canvas-image.js';

describe("the pad's canvas pixels as model input (docs/method.md §2.6 Transparency)", () => {
  it('are the pixels decodePng gives for the same RGBA PNG: every alpha, grey and colour, on black, white and another colour', () => {
    // 16×16 straight RGBA (what getImageData returns): every alpha 0..255 once, over varied colours.
    const rgba = new Uint8ClampedArray(16 * 16 * 4);
    for (let p = 0; p < 256; p++) rgba.set([(p * 37) % 256, (p * 91 + 11) % 256, 255 - p, p], p * 4);
    const png = encodePng({ data: new Uint8Array(rgba), count: 1, height: 16, width: 16, channels: 4 });
    for (const background of [BLACK_BACKGROUND, WHITE_BACKGROUND, [30, 200, 90] as const]) {
      for (const channels of [1, 3] as const) {
        const ours = canvasImage(rgba, 16, channels, background);
        const want = decodePng(png, channels, { background });
        expect([ours.height, ours.width, ours.channels, ours.count]).toEqual([16, 16, channels, 1]);
        expect(ours.data, `${channels} channel(s) on ${background}`).toEqual(want.data);
      }
    }
    // A transparent pixel is the background, not the colour the canvas keeps under it.
    expect(Array.from(canvasImage(rgba, 16, 3, WHITE_BACKGROUND).data.subarray(0, 3))).toEqual([255, 255, 255]);
  });
});
