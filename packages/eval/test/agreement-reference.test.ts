import { describe, expect, it } from 'vitest';
import type { U8Images } from '@farmer/core';
import { agreementReference, type FeatureClassifier } from '../src/index.js';

/** A classifier that answers fixed predictions (agreementReference needs only predict and numClasses). */
function fixedClassifier(predictions: number[], numClasses: number): FeatureClassifier {
  return { config: { numClasses }, predict: async () => Int32Array.from(predictions) } as unknown as FeatureClassifier;
}

describe('agreementReference (docs/method.md §10.3 Classifier agreement)', () => {
  it('gives the accuracy, the class-balanced accuracy, the counts and the agreement at the real shares', async () => {
    // 6 real images: class 0 ×4 (3 right), class 1 ×1 (right), class 2 ×1 (wrong).
    const labels = [0, 0, 0, 0, 1, 2];
    const predictions = [0, 0, 0, 1, 1, 0];
    const images: U8Images = { data: new Uint8Array(6), count: 6, height: 1, width: 1, channels: 1 };
    const r = await agreementReference(fixedClassifier(predictions, 3), images, labels, [0.5, 1, 0.25]);
    expect(r.images).toBe(6);
    expect(r.accuracy).toBeCloseTo(4 / 6, 15);
    expect(r.perClass).toEqual([0.75, 1, 0]);
    expect(r.balancedAccuracy).toBeCloseTo(1.75 / 3, 15);
    expect(r.counts).toEqual([4, 1, 1]);
    expect(r.agreementAtRealShares).toBeCloseTo((4 * 0.5 + 1 + 0.25) / 6, 15);
  });

  it('a class without real images has no accuracy and no weight', async () => {
    const images: U8Images = { data: new Uint8Array(2), count: 2, height: 1, width: 1, channels: 1 };
    const r = await agreementReference(fixedClassifier([0, 0], 2), images, [0, 0], [0.4, 0.9]);
    expect(r.perClass[1]).toBeNaN();
    expect(r.balancedAccuracy).toBe(1);
    expect(r.agreementAtRealShares).toBeCloseTo(0.4, 15);
  });
});
