import type { U8Images } from '@farmer/core';
import { balancedMean, classCounts, countWeightedMean } from '../class-weighting.js';
import { classifierAgreement, type FeatureClassifier } from './classifier.js';

/**
 * The classifier on real labelled images, set beside an agreement measured
 * on samples (docs/method.md §10.3 Classifier agreement).
 */
export interface AgreementReference {
  /** Real images scored. */
  images: number;
  /** Share labelled right: the classes weighted by their counts. */
  accuracy: number;
  /** Mean of the per-class accuracies: the figure to set beside an agreement drawn with equal samples per class. */
  balancedAccuracy: number;
  /** Accuracy per class [C] (NaN for a class without images). */
  perClass: number[];
  /** Real images per class [C]. */
  counts: number[];
  /** The samples' per-class agreement [C] weighted by `counts`: the figure to set beside `accuracy`. */
  agreementAtRealShares: number;
}

/** Scores the real `images` with their `labels` and relates them to the samples' per-class agreement [C]. */
export async function agreementReference(clf: FeatureClassifier, images: U8Images, labels: ArrayLike<number>, agreementPerClass: readonly number[]): Promise<AgreementReference> {
  const real = await classifierAgreement(clf, images, labels);
  const counts = classCounts(labels, clf.config.numClasses);
  return {
    images: images.count,
    accuracy: real.agreement,
    balancedAccuracy: balancedMean(real.perClass),
    perClass: real.perClass,
    counts,
    agreementAtRealShares: countWeightedMean(agreementPerClass, counts),
  };
}
