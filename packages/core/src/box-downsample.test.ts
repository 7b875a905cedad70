import { describe, expect, it } from 'vitest';
import { boxDownsample2 } from './box-downsample.js';
import { isFarmerError } from './errors.js';

describe('boxDownsample2', () => {
  it('averages each 2×2 block per channel, rounding halves up', () => {
    // One 2×4 image, 2 channels: blocks (x 0..1) and (x 2..3).
    const data = Uint8Array.from([
      0, 10, 1, 20, 255, 0, 255, 0,
      0, 30, 1, 40, 255, 1, 254, 0,
    ]);
    const out = boxDownsample2({ data, count: 1, height: 2, width: 4, channels: 2 });
    expect([out.height, out.width, out.channels]).toEqual([1, 2, 2]);
    // (0+1+0+1)/4 = 0.5 → 1; (10+20+30+40)/4 = 25; (255+255+255+254)/4 = 254.75 → 255; (0+0+1+0)/4 = 0.25 → 0.
    expect(Array.from(out.data)).toEqual([1, 25, 255, 0]);
  });

  it('keeps images of a batch apart and refuses odd sizes', () => {
    const two = { data: Uint8Array.from([4, 4, 4, 4, 8, 8, 8, 8]), count: 2, height: 2, width: 2, channels: 1 };
    expect(Array.from(boxDownsample2(two).data)).toEqual([4, 8]);
    let err: unknown;
    try {
      boxDownsample2({ data: new Uint8Array(6), count: 1, height: 3, width: 2, channels: 1 });
    } catch (e) {
      err = e;
    }
    expect(isFarmerError(err, 'FARMER_E_SHAPE')).toBe(true);
  });
});
