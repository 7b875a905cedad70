import { imagesBitsPerDim, likelihoodOf as runnerLikelihood, type FarmerRunner } from '@farmer/ar-gmm';
import type { Rng, U8Images } from '@farmer/core';

/**
 * Bits/dim of each image [count] under uniform dequantisation with noise from
 * `rng` (docs/method.md §5.2 bits per dim); labels: a class per image, or null
 * for the null label.
 */
export type BitsPerDim = (images: U8Images, labels: ArrayLike<number> | null, rng: Rng) => Promise<Float64Array>;

/**
 * How a runner computes likelihoods, or undefined when it cannot (the
 * likelihood route then answers FARMER_E_UNSUPPORTED). Runners that are a
 * FarmerLikelihood (TfRunner, the ORT runner) compute the joint NLL; the
 * dequantisation is shared, so the same seed gives the same noise on every runtime.
 */
export function likelihoodOf(runner: FarmerRunner): BitsPerDim | undefined {
  const lik = runnerLikelihood(runner);
  return lik ? (im, labels, rng) => imagesBitsPerDim(lik, im, labels, rng) : undefined;
}

/** Frees a runner's weights through its `dispose()` (TfRunner and the ORT runner have one). */
export function disposeRunner(runner: FarmerRunner): void | Promise<void> {
  return runner.dispose?.();
}
