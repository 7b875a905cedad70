import { FarmerError } from './errors.js';
import type { U8Images } from './image.js';
import { mapU8ToNCHW, u8ToFloatNCHW } from './image.js';
import type { Rng } from './rng.js';

/**
 * Training-time noise:
 * - `uniform`: x = 2·(k + u)/256 − 1, u ~ U(0,1) (bits/dim are exact in this mode;
 *   docs/method.md §2.2 uniform dequantisation);
 * - `gaussian`: x = 2·k/255 − 1 + σ·ε, with σ cosine-decayed over training
 *   (docs/method.md §2.3 Gaussian noise schedule).
 */
export type NoiseConfig =
  | { mode: 'uniform' }
  | { mode: 'gaussian'; sigmaStart: number; sigmaEnd: number }
  | { mode: 'none' };

/** σ_t = σ_end + ½(σ_start − σ_end)(1 + cos(π·t/T)), t clamped to [0, T]. */
export function cosineSigma(step: number, totalSteps: number, sigmaStart: number, sigmaEnd: number): number {
  if (totalSteps <= 0) return sigmaEnd;
  const t = Math.min(Math.max(step / totalSteps, 0), 1);
  return sigmaEnd + 0.5 * (sigmaStart - sigmaEnd) * (1 + Math.cos(Math.PI * t));
}

/**
 * Turns u8 HWC images into noisy float NCHW values in [-1, 1] space for a
 * training step. Draws come from `rng` so a resumed run repeats them.
 */
export function noisyImages(im: U8Images, noise: NoiseConfig, rng: Rng, step = 0, totalSteps = 1): { values: Float32Array; sigma: number } {
  const size = im.count * im.channels * im.height * im.width;
  let sigma = 0;
  let values: Float32Array;
  if (noise.mode === 'uniform') {
    const u = rng.uniform(size);
    values = mapU8ToNCHW(im, (k, i) => (2 * (k + u[i])) / 256 - 1);
  } else if (noise.mode === 'gaussian') {
    if (!(noise.sigmaStart >= 0 && noise.sigmaEnd >= 0)) throw new FarmerError('FARMER_E_BAD_CONFIG', 'noise sigmas must be >= 0');
    sigma = cosineSigma(step, totalSteps, noise.sigmaStart, noise.sigmaEnd);
    const e = rng.normal(size, 0, sigma);
    values = mapU8ToNCHW(im, (k, i) => (2 * k) / 255 - 1 + e[i]);
  } else {
    values = u8ToFloatNCHW(im);
  }
  return { values, sigma };
}

/** Bits/dim from NLL per dim (nats) in [-1,1] space with uniform dequantisation: (nll + ln 128)/ln 2. */
export function bitsPerDim(nllPerDimNats: number): number {
  return (nllPerDimNats + Math.log(128)) / Math.LN2;
}
