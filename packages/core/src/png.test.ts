import { describe, expect, it } from 'vitest';
import { compositeRgba } from './background.js';
import { isFarmerError } from './errors.js';
import { decodePng, encodePng, imageGrid } from './png.js';
import { checkPngSize, pngSize } from './png-size.js';

describe('PNG and grids', () => {
  it('round-trips grayscale and RGB images', () => {
    const gray = { data: Uint8Array.from({ length: 12 }, (_, i) => i * 20), count: 1, height: 3, width: 4, channels: 1 };
    expect(decodePng(encodePng(gray), 1)).toEqual(gray);
    const rgb = { data: Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => 255 - i * 9), count: 1, height: 2, width: 2, channels: 3 };
    expect(decodePng(encodePng(rgb), 3)).toEqual(rgb);
  });

  it('reads grey + alpha and palette PNGs (with transparency) as the pixels the file holds', async () => {
    const sharp = (await import('sharp')).default;
    // 8×8 straight RGBA with varied colours and alphas, 16 distinct pixels (so a palette holds them all).
    const rgba = new Uint8Array(8 * 8 * 4);
    for (let p = 0; p < 64; p++) rgba.set([(p % 16) * 17, 255 - (p % 16) * 13, (p % 4) * 80, [255, 0, 128, 255][p % 4]], p * 4);
    const grey = new Uint8Array(8 * 8 * 2);
    for (let p = 0; p < 64; p++) grey.set([(p * 37) % 256, [255, 0, 128, 40][p % 4]], p * 2);
    const raw = (data: Uint8Array, channels: 2 | 3 | 4) => sharp(Buffer.from(data), { raw: { width: 8, height: 8, channels } });
    const files = {
      greyAlpha: await raw(grey, 2).toColourspace('b-w').png().toBuffer(),
      palette: await raw(rgba, 4).png({ palette: true, colours: 256, dither: 0 }).toBuffer(),
    };
    // Colour types in the IHDR: 4 (grey + alpha) and 3 (palette), 8 bits.
    expect(Object.values(files).map((b) => [b[24], b[25]])).toEqual([[8, 4], [8, 3]]);
    for (const [name, file] of Object.entries(files)) {
      // What the file holds, as sharp decodes it to 8-bit straight RGBA.
      const { data } = await sharp(file).toColourspace('srgb').ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      for (const channels of [1, 3] as const) {
        for (const background of [[0, 0, 0], [255, 255, 255]] as const) {
          expect(Array.from(decodePng(new Uint8Array(file), channels, { background }).data), `${name}, ${channels} channel(s), on ${background}`).toEqual(Array.from(compositeRgba(data, channels, background)));
        }
      }
    }
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

  it('refuses a PNG whose header is over the pixel limit before decoding it', () => {
    // A 1×1 PNG whose IHDR now says 20000×20000: its body (and CRC) no longer fit, so a
    // decoder would fail with a decode error; the size error shows the header was read first.
    const crafted = withIhdrSize(encodePng({ data: Uint8Array.of(7), count: 1, height: 1, width: 1, channels: 1 }), 20000, 20000);
    const err = caught(() => decodePng(crafted, 1));
    expect(isFarmerError(err, 'FARMER_E_BAD_INPUT'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/PNG is 20000×20000 pixels, over the limit of 67108864 pixels/);
  });

  it("reads a PNG's size from its header, and checks it against a model's size without decoding", () => {
    const crafted = withIhdrSize(encodePng({ data: Uint8Array.of(7), count: 1, height: 1, width: 1, channels: 1 }), 20000, 30000);
    // The first 24 bytes (signature and IHDR's size fields) are all it reads.
    expect(pngSize(crafted.subarray(0, 24))).toEqual({ width: 20000, height: 30000 });
    const wrong = caught(() => checkPngSize(crafted, { width: 28, height: 28 }, 'digit.png'));
    expect(isFarmerError(wrong, 'FARMER_E_BAD_INPUT')).toBe(true);
    expect((wrong as Error).message).toBe("digit.png must be 28×28 pixels (this model's size), got 20000×30000");
    const good = encodePng({ data: new Uint8Array(28 * 28), count: 1, height: 28, width: 28, channels: 1 });
    expect(checkPngSize(good, { width: 28, height: 28 })).toEqual({ width: 28, height: 28 });
    expect((caught(() => pngSize(new TextEncoder().encode('GIF89a not a png at all'), 'x.gif')) as Error).message).toMatch(/^x\.gif is not a PNG file \(bad signature\)/);
    expect((caught(() => pngSize(crafted.subarray(0, 20))) as Error).message).toMatch(/too short/);
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

/** The error `f` throws. */
function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** A copy of PNG bytes whose IHDR says width×height (the CRC left stale, the body unchanged). */
function withIhdrSize(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = Uint8Array.from(png);
  const view = new DataView(out.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  return out;
}
