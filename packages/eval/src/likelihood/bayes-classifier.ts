import { classify, classPosterior, fitTemperature, type Classification, type FarmerLikelihood } from '@farmer/ar-gmm';
import { Rng, type U8Images } from '@farmer/core';
import { calibration, confusionMatrix, type ReliabilityBin } from '../calibration.js';

/** Labelled images. */
export interface LabelledImages {
  images: U8Images;
  labels: Int32Array;
}

/** Options of {@link evaluateBayesClassifier}. */
export interface BayesClassifierOptions {
  /** Held-out TRAINING images the temperature is fitted on (never the test split); none: T = 1. */
  heldOut?: LabelledImages;
  /** Confidence bins of ECE and the reliability diagram (default 15). */
  bins?: number;
  batchSize?: number;
  /** Seed of the dequantisation noise. */
  seed?: number;
  /** Called after each batch with the images done and the total. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Accuracy, calibration and confusion matrix of Bayes classification on a test set (docs/method.md §5.4 Bayes classification). */
export interface BayesClassifierReport {
  images: number;
  accuracy: number;
  /** [K, K], row: true class, column: predicted. */
  confusion: number[][];
  /** Temperature of the reported posterior, the images it was fitted on (0: not fitted, T = 1) and their mean NLL. */
  temperature: { value: number; fittedOn: number; heldOutNll?: number };
  /** ECE and reliability bins at the reported temperature. */
  ece: number;
  bins: ReliabilityBin[];
  /** ECE of the exact posterior (T = 1). */
  eceAtT1: number;
  /** Test images classified per second (all K classes each), held-out scoring excluded. */
  imagesPerSecond: number;
  /** The test classification itself (posterior at the reported temperature). */
  classification: Classification;
}

/**
 * Evaluates the Bayes classifier of a class-conditional FARMER
 * (docs/method.md §5.4 Bayes classification) on a labelled test set:
 * accuracy, confusion matrix, and calibration (ECE over `bins` bins) at a
 * temperature fitted on held-out training images only.
 */
export async function evaluateBayesClassifier(lik: FarmerLikelihood, test: LabelledImages, options: BayesClassifierOptions = {}): Promise<BayesClassifierReport> {
  const K = lik.config.numClasses;
  const seed = options.seed ?? 0;
  const heldN = options.heldOut?.images.count ?? 0;
  const total = heldN + test.images.count;
  let temperature: BayesClassifierReport['temperature'] = { value: 1, fittedOn: 0 };
  if (options.heldOut && heldN > 0) {
    const held = await classify(lik, options.heldOut.images, { rng: new Rng(`classify:heldout:${seed}`), batchSize: options.batchSize, signal: options.signal, onProgress: (d) => options.onProgress?.(d, total) });
    const fit = fitTemperature(held.logLik, options.heldOut.labels, K);
    temperature = { value: fit.temperature, fittedOn: heldN, heldOutNll: fit.nll };
  }
  const t0 = performance.now();
  const r = await classify(lik, test.images, {
    rng: new Rng(`classify:${seed}`),
    temperature: temperature.value,
    batchSize: options.batchSize,
    signal: options.signal,
    onProgress: (d) => options.onProgress?.(heldN + d, total),
  });
  const seconds = (performance.now() - t0) / 1000;
  const bins = options.bins ?? 15;
  const cal = calibration(r.posterior, test.labels, K, bins);
  const { matrix, accuracy } = confusionMatrix(r.predicted, test.labels, K);
  return {
    images: r.count,
    accuracy,
    confusion: matrix,
    temperature,
    ece: cal.ece,
    bins: cal.bins,
    eceAtT1: calibration(classPosterior(r.logLik, K), test.labels, K, bins).ece,
    imagesPerSecond: r.count / seconds,
    classification: r,
  };
}
