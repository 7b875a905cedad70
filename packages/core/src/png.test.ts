import { describe, expect, it } from 'vitest';
import { isFarmerError } from './errors.js';
import { decodePng, encodePng, imageGrid } from './png.js';

describe('PNG and grids', () => {
  it('round-trips grayscale and RGB images', () => {
    const gray = { data: Uint8Array.from({ length: 12 }, (_, i) => i * 20), count: 1, height: 3, width: 4, channels: 1 };
    expect(decodePng(encodePng(gray), 1)).toEqual(gray);
    const rgb = { data: Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => 255 - i * 9), count: 1, height: 2, width: 2, channels: 3 };
    expect(decodePng(encodePng(rgb), 3)).toEqual(rgb);
  });

  it('encodes one image of a batch by index', () => {
    const two = { data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), count: 2, height: 2, width: 2, channels: 1 };
    expect(decodePng(encodePng(two, 1), 1).data).toEqual(Uint8Array.from([5, 6, 7, 8]));
  });

  it('rejects non-PNG bytes', () => {
    const err = (() => {
      try {
        decodePng(new TextEncoder().encode('GIF89a not a png'));
      } catch (e) {
        return e;
      }
    })();
    expect(isFarmerError(err, 'FARMER_E_BAD_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(/not a PNG/);
  });

  it('tiles images row-major with padding', () => {
    const im = { data: Uint8Array.from({ length: 5 * 2 * 3 }, (_, i) => Math.floor(i / 6)), count: 5, height: 2, width: 3, channels: 1 };
    const g = imageGrid(im, { columns: 3, padding: 1, background: 200 });
    expect([g.height, g.width]).toEqual([2 * 2 + 3, 3 * 3 + 4]);
    // Image 4 sits in row 1, column 1: top-left pixel at (1 + 2 + 1, 1 + 3 + 1).
    expect(g.data[(4 * g.width) + 5]).toBe(4);
    expect(g.data[0]).toBe(200);
  });
});
