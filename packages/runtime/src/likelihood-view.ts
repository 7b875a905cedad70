import { imagesBitsPerDim, likelihoodOf, type FarmerRunner } from '@farmer/ar-gmm';
import type { Rng, U8Images } from '@farmer/core';

/**
 * Bits/dim of each image [count] under uniform dequantisation with noise from
 * `rng` (docs/method.md §5.2 bits per dim); labels: a class per image, or null
 * for the null label.
 */
export type BitsPerDim = (images: U8Images, labels: ArrayLike<number> | null, rng: Rng) => Promise<Float64Array>;

/**
 * The likelihood view of a runner: how it computes bits/dim, or undefined
 * when it cannot (an inference-only runner). Runners that are a
 * FarmerLikelihood (the tfjs and onnxruntime runners) compute the joint
 * NLL; the dequantisation is shared, so the same seed gives the same noise
 * on every runtime.
 */
export function bitsPerDimOf(runner: FarmerRunner): BitsPerDim | undefined {
  const lik = likelihoodOf(runner);
  return lik ? (im, labels, rng) => imagesBitsPerDim(lik, im, labels, rng) : undefined;
}
