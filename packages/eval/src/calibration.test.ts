import { describe, expect, it } from 'vitest';
import { auroc } from './auroc.js';
import { calibration, confusionMatrix } from './calibration.js';

describe('calibration', () => {
  it('ECE is the count-weighted gap between accuracy and confidence per bin', () => {
    // Two images at confidence 0.9 (one right), two at 0.6 (both right).
    const probs = [0.9, 0.1, 0.9, 0.1, 0.4, 0.6, 0.6, 0.4];
    const labels = [0, 1, 1, 0];
    const c = calibration(probs, labels, 2, 15);
    expect(c.ece).toBeCloseTo(0.5 * Math.abs(0.5 - 0.9) + 0.5 * Math.abs(1 - 0.6), 12);
    expect(c.bins).toHaveLength(15);
    expect(c.bins.reduce((s, b) => s + b.count, 0)).toBe(4);
    expect(c.bins[13]).toMatchObject({ count: 2, accuracy: 0.5 });
    expect(calibration([1, 0, 0, 1], [0, 1], 2).ece).toBe(0);
    expect(() => calibration([1, 0], [0, 1], 2)).toThrow(/probabilities/);
  });

  it('confusion matrix rows are true classes', () => {
    const r = confusionMatrix([0, 1, 1, 2], [0, 1, 2, 2], 3);
    expect(r.matrix).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 1],
    ]);
    expect(r.accuracy).toBe(0.75);
  });
});

describe('auroc', () => {
  it('is the Mann–Whitney probability, ties counted half', () => {
    expect(auroc([3, 4], [1, 2])).toBe(1);
    expect(auroc([1, 2], [3, 4])).toBe(0);
    expect(auroc([1, 1], [1, 1])).toBe(0.5);
    // Pairs: (2>1) (2<3) (4>1) (4>3) → 3/4.
    expect(auroc([2, 4], [1, 3])).toBe(0.75);
    expect(auroc([2], [2, 1])).toBe(0.75);
    expect(auroc([NaN], [1])).toBeNaN();
    expect(() => auroc([], [1])).toThrow(/both groups/);
  });
});
