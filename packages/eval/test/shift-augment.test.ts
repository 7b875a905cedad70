import { BLACK_BACKGROUND, Rng, WHITE_BACKGROUND } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { shiftAugment } from '../src/classifier/shift-augment.js';

/** One image [C, H, W] whose value at (c, y, x) is a distinct number inside (−1, 1). */
function ramp(c: number, h: number, w: number): Float32Array {
  return new Float32Array(c * h * w).map((_, i) => (i + 1) / (c * h * w + 1) - 0.5);
}

/** The (dy, dx) an Rng stream draws first, as shiftAugment draws them. */
function firstShift(seed: string): [number, number] {
  const r = new Rng(seed);
  return [r.int(5) - 2, r.int(5) - 2];
}

describe('shiftAugment (the classifier’s training augmentation)', () => {
  it('moves the image by (dy, dx) and fills the uncovered border with the background colour', () => {
    // A seed whose first shift moves both ways, so both borders are uncovered.
    const seed = Array.from({ length: 50 }, (_, i) => `s${i}`).find((s) => firstShift(s).every((d) => d !== 0))!;
    const [dy, dx] = firstShift(seed);
    const [c, h, w] = [3, 5, 6];
    const x = ramp(c, h, w);
    const red: [number, number, number] = [255, 0, 51];
    const out = shiftAugment(x, { count: 1, channels: c, height: h, width: w }, red, new Rng(seed));
    const fill = [1, -1, (2 * 51) / 255 - 1];
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const [sy, sx] = [y - dy, xx - dx];
          const inside = sy >= 0 && sy < h && sx >= 0 && sx < w;
          expect(out[(ch * h + y) * w + xx]).toBeCloseTo(inside ? x[(ch * h + sy) * w + sx] : fill[ch], 6);
        }
      }
    }
  });

  it('grey images are filled with the luma of the background: black −1 (MNIST, as before), white +1', () => {
    const seed = Array.from({ length: 50 }, (_, i) => `g${i}`).find((s) => firstShift(s)[0] !== 0)!;
    const [dy] = firstShift(seed);
    const x = ramp(1, 4, 4);
    const row = dy > 0 ? 0 : 3;
    for (const [bg, want] of [
      [BLACK_BACKGROUND, -1],
      [WHITE_BACKGROUND, 1],
    ] as const) {
      const out = shiftAugment(x, { count: 1, channels: 1, height: 4, width: 4 }, bg, new Rng(seed));
      for (let xx = 0; xx < 4; xx++) expect(out[row * 4 + xx]).toBe(want);
    }
  });

  it('flip mirrors about half the images left–right; without it the draws are those of the shift alone', () => {
    const [n, h, w] = [200, 3, 5];
    const x = new Float32Array(n * h * w);
    for (let b = 0; b < n; b++) x.set(ramp(1, h, w), b * h * w);
    const shape = { count: n, channels: 1, height: h, width: w };
    const plain = shiftAugment(x, shape, BLACK_BACKGROUND, new Rng('f'));
    // Same (dy, dx) per image as drawn without flips: image b's shift is the b-th pair of the stream.
    const r = new Rng('f');
    const shifts = Array.from({ length: n }, () => [r.int(5) - 2, r.int(5) - 2]);
    let mirrored = 0;
    const rf = new Rng('f');
    const flipped = shiftAugment(x, shape, BLACK_BACKGROUND, rf, { flip: true });
    const check = new Rng('f');
    for (let b = 0; b < n; b++) {
      const [dy, dx] = [check.int(5) - 2, check.int(5) - 2];
      const flip = check.next() < 0.5;
      if (b === 0) expect([dy, dx]).toEqual(shifts[0]);
      mirrored += flip ? 1 : 0;
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const [sy, u] = [y - dy, xx - dx];
          const want = sy < 0 || sy >= h || u < 0 || u >= w ? -1 : x[b * h * w + sy * w + (flip ? w - 1 - u : u)];
          expect(flipped[b * h * w + y * w + xx]).toBe(want);
        }
      }
    }
    expect(mirrored).toBeGreaterThan(70);
    expect(mirrored).toBeLessThan(130);
    for (let b = 0; b < n; b++) {
      const [dy, dx] = shifts[b];
      const [sy, sx] = [1 - dy, 2 - dx];
      if (sy >= 0 && sy < h && sx >= 0 && sx < w) expect(plain[b * h * w + 1 * w + 2]).toBe(x[b * h * w + sy * w + sx]);
    }
  });
});
