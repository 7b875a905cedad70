import { describe, expect, it } from 'vitest';
import { meanAbsPixelDifference } from './pixel-distance.js';

describe('meanAbsPixelDifference', () => {
  const n = 32 * 32 * 3;
  const a = { data: new Uint8Array(2 * n), count: 2, height: 32, width: 32, channels: 3 };
  // Image 0: 100 in its first quarter, 80 in the rest; image 1: 100 everywhere (so 0 and 20 levels apart).
  a.data.fill(100, 0, n / 4);
  a.data.fill(80, n / 4, n);
  a.data.fill(100, n);

  it('is the mean of |a − b| over every byte', () => {
    expect(meanAbsPixelDifference(a, 0, a, 0)).toBe(0);
    const zero = { ...a, data: new Uint8Array(2 * n) };
    expect(meanAbsPixelDifference(a, 0, zero, 1)).toBeCloseTo(100 / 4 + (80 * 3) / 4, 12);
    expect(meanAbsPixelDifference(a, 0, a, 1)).toBeCloseTo((20 * 3) / 4, 12);
  });

  it('with stopAbove, gives the exact value when it is below and some value above it otherwise', () => {
    expect(meanAbsPixelDifference(a, 0, a, 1, 16)).toBeCloseTo(15, 12);
    const cut = meanAbsPixelDifference(a, 0, a, 1, 14);
    expect(cut).toBeGreaterThan(14);
    expect(cut).toBeLessThan(15);
  });
});
