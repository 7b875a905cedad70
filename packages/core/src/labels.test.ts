import { describe, expect, it } from 'vitest';
import { isFarmerError } from './errors.js';
import { checkLabels, NULL_LABEL } from './labels.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('checkLabels', () => {
  it('returns the classes, -1 for the null label, and the null label for no labels', () => {
    expect(Array.from(checkLabels([2, -1, 0], 3, 3))).toEqual([2, NULL_LABEL, 0]);
    expect(Array.from(checkLabels(Int32Array.from([1, 1]), 2, 2))).toEqual([1, 1]);
    expect(Array.from(checkLabels(null, 2, 10))).toEqual([-1, -1]);
    expect(Array.from(checkLabels(undefined, 1, 10))).toEqual([-1]);
  });

  it('gives every image the null label on a model without classes', () => {
    expect(Array.from(checkLabels([3, -1], 2, 0))).toEqual([-1, -1]);
  });

  it('refuses a label outside [0, numClasses), a fraction, NaN and a missing entry, naming the index', () => {
    for (const [labels, index] of [
      [[0, 4], 1],
      [[-2], 0],
      [[1.5], 0],
      [[0, 0, NaN], 2],
      [[0], 1],
    ] as const) {
      const e = thrown(() => checkLabels(labels, index + 1, 4));
      expect(isFarmerError(e, 'FARMER_E_BAD_INPUT')).toBe(true);
      expect((e as Error).message).toMatch(new RegExp(`label .* at index ${index} is outside \\[0, 4\\) \\(use -1 for the null label\\)`));
      expect((e as { details: unknown }).details).toEqual({ field: 'labels', index });
    }
  });

  it('names the field it is given', () => {
    const e = thrown(() => checkLabels([7], 1, 3, 'label'));
    expect((e as { details: unknown }).details).toEqual({ field: 'label', index: 0 });
  });
});
