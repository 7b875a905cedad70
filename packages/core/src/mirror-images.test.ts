import { describe, expect, it } from 'vitest';
import { mirrorImages } from './mirror-images.js';

describe('mirrorImages', () => {
  it('mirrors the chosen images left–right, keeping channel order, and leaves the input alone', () => {
    // 2 images of 2×3 RGB; values encode (image, y, x, channel).
    const data = new Uint8Array(2 * 2 * 3 * 3).map((_, j) => j);
    const im = { data, count: 2, height: 2, width: 3, channels: 3 };
    const out = mirrorImages(im, [true, false]);
    const at = (d: Uint8Array, i: number, y: number, x: number, k: number) => d[((i * 2 + y) * 3 + x) * 3 + k];
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 3; x++)
        for (let k = 0; k < 3; k++) {
          expect(at(out.data, 0, y, x, k)).toBe(at(data, 0, y, 2 - x, k));
          expect(at(out.data, 1, y, x, k)).toBe(at(data, 1, y, x, k));
        }
    expect(Array.from(data)).toEqual(Array.from({ length: 36 }, (_, j) => j));
    expect(Array.from(mirrorImages(out, [true, false]).data)).toEqual(Array.from(data));
  });
});
