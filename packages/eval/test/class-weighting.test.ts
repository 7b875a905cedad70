import { describe, expect, it } from 'vitest';
import { balancedMean, classCounts, countWeightedMean } from '../src/index.js';

describe('class weighting (docs/method.md §10.3 Classifier agreement)', () => {
  // Two classes: 90 images of an easy class (90% right) and 10 of a hard one (10% right).
  const perClass = [0.9, 0.1];
  const counts = [90, 10];

  it('the plain accuracy is the count-weighted mean, the balanced accuracy the plain mean', () => {
    // 81 + 1 of 100 images right.
    expect(countWeightedMean(perClass, counts)).toBeCloseTo(0.82, 15);
    expect(balancedMean(perClass)).toBeCloseTo(0.5, 15);
  });

  it('re-weights a per-class agreement measured on equal counts to a split’s shares', () => {
    // Equal samples per class give 0.5 overall; in 90/10 proportions the same rates give 0.82.
    const labels = [...Array(90).fill(0), ...Array(10).fill(1)];
    const predictions = [...Array(81).fill(0), ...Array(9).fill(1), 1, ...Array(9).fill(0)];
    const right: number[] = labels.map((y, i) => (predictions[i] === y ? 1 : 0));
    const c = classCounts(labels, 2);
    expect(c).toEqual([90, 10]);
    const rates = [0, 1].map((k) => right.filter((_, i) => labels[i] === k).reduce((s, r) => s + r, 0) / c[k]);
    expect(countWeightedMean(rates, c)).toBeCloseTo(right.reduce((s, r) => s + r, 0) / 100, 15);
  });

  it('leaves out classes without a rate or a count, and is NaN with none', () => {
    expect(balancedMean([0.2, NaN, 0.6])).toBeCloseTo(0.4, 15);
    expect(countWeightedMean([0.2, NaN, 0.6], [1, 5, 3])).toBeCloseTo((0.2 + 1.8) / 4, 15);
    expect(countWeightedMean([0.2, 0.6], [0, 2])).toBeCloseTo(0.6, 15);
    expect(balancedMean([NaN])).toBeNaN();
    expect(countWeightedMean([0.5], [0])).toBeNaN();
  });

  it('refuses rates and counts of different lengths', () => {
    expect(() => countWeightedMean([0.5], [1, 2])).toThrow(/1 rates but 2 counts/);
  });
});
