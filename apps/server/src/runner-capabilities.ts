import { imagesBitsPerDim, TfRunner, type FarmerRunner } from '@farmer/ar-gmm';
import { bitsPerDim, noisyImages, type Rng, type U8Images } from '@farmer/core';

/**
 * Bits/dim of each image [count] under uniform dequantisation with noise
 * from `rng` (method doc §4); labels: a class per image, or null for the
 * null label.
 */
export type BitsPerDim = (images: U8Images, labels: ArrayLike<number> | null, rng: Rng) => Promise<Float64Array>;

/**
 * A runner that computes the joint NLL itself: the `nll` of @farmer/onnx's
 * `FarmerLikelihood` (which its onnxruntime runner implements), matched by
 * shape so the server needs no import of a runtime package.
 */
export interface NllRunner extends FarmerRunner {
  /** images: float32 NCHW [B, C, H, W] in [-1, 1], dequantised; returns per-image NLL/dim in nats [B]. */
  nll(images: Float32Array, batch: number, labels: ArrayLike<number> | null): Promise<{ nllPerDim: ArrayLike<number> }>;
}

function hasNll(runner: FarmerRunner): runner is NllRunner {
  return 'nll' in runner && typeof runner.nll === 'function';
}

/**
 * How a runner computes likelihoods, or undefined when it cannot (the
 * likelihood route then answers FARMER_E_UNSUPPORTED): a TfRunner through its
 * FarmerModel, any other runner through its own `nll`. Both dequantise the
 * same way, so the same seed gives the same noise on every runtime.
 */
export function likelihoodOf(runner: FarmerRunner): BitsPerDim | undefined {
  if (runner instanceof TfRunner) return async (im, labels, rng) => imagesBitsPerDim(runner.model, im, labels, rng);
  if (hasNll(runner)) {
    return async (im, labels, rng) => {
      const { values } = noisyImages(im, { mode: 'uniform' }, rng);
      const r = await runner.nll(values, im.count, labels);
      return Float64Array.from(r.nllPerDim, (v) => bitsPerDim(v));
    };
  }
  return undefined;
}

/** Frees a runner's weights through its `dispose()` (TfRunner and the ORT runner have one). */
export function disposeRunner(runner: FarmerRunner): void {
  if ('dispose' in runner && typeof runner.dispose === 'function') runner.dispose();
}
