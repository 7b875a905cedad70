import { FarmerError, type U8Images } from '@farmer/core/browser';

/**
 * How far apart `generate()` may draw the same images on two runtimes (tfjs
 * and onnxruntime, node and web) for the same seed and options: the one rule
 * every runtime comparison checks (docs/method.md §7.10 runtime agreement).
 *
 * Two ways the runtimes' float32 rounding (about 1e-6, sums in another order)
 * shows in the u8 images:
 * - **rounding**: a pixel value lands on the other side of a quantisation
 *   boundary. At most `maxLevels` apart, on at most `maxPixelShare` of the
 *   pixels of the images it touches.
 * - **a diverged choice**: one of the sampler's discrete draws (a CFG
 *   candidate or a redundant pool pick, a mixture component) has its uniform
 *   number within rounding of a boundary of its cumulative probabilities, and
 *   the runtimes pick differently. That image's latents differ from there on,
 *   by any amount. At most `maxDivergedShare` of the images, rounded up.
 *
 * Measured on both built-in models, 1,000 images per seed, seeds 0–2: with
 * resampling CFG 21 of 6,000 images diverged (at most 8 of any 1,000), with
 * decoupled sampling 0 of 2,000; the exact AF inverse of the same latents
 * agreed within 1.2e-3 (0.15 grey level) on every image. See @farmer/onnx's
 * README.
 */
export const RUNTIME_AGREEMENT = {
  /** Largest u8 difference of an image whose sampling choices agreed. */
  maxLevels: 1,
  /** Share of those images' pixels that may differ (by at most `maxLevels`). */
  maxPixelShare: 0.001,
  /** Share of images whose sampling choices may diverge (any difference), rounded up to whole images. */
  maxDivergedShare: 0.02,
} as const;

/** The numbers of a runtime-agreement rule, as in {@link RUNTIME_AGREEMENT} (docs/method.md §7.10 runtime agreement). */
export type RuntimeAgreementRule = { readonly [K in keyof typeof RUNTIME_AGREEMENT]: number };

/** Two image sets compared under {@link RUNTIME_AGREEMENT}. */
export interface RuntimeAgreement {
  images: number;
  /** Images with identical bytes. */
  identical: number;
  /** Indices of the images more than `maxLevels` apart (a diverged sampling choice). */
  diverged: number[];
  /** The most `diverged` may hold: ⌈maxDivergedShare · images⌉. */
  divergedAllowed: number;
  /** Pixels that differ in the other (not diverged) images, and their count of pixels. */
  roundedPixels: number;
  comparedPixels: number;
  /** Largest difference over the not-diverged images (≤ maxLevels by definition). */
  maxRoundedLevels: number;
  /** Whether the rule holds. */
  holds: boolean;
  /** One line for logs and assertion messages. */
  summary: string;
}

/**
 * Compares two sets of `count` u8 images (same shape, same order) against the
 * runtime-agreement rule (docs/method.md §7.10 runtime agreement). Pure; the
 * caller decides what to do when `holds` is false.
 */
export function compareRuntimeImages(a: U8Images, b: U8Images, rule: RuntimeAgreementRule = RUNTIME_AGREEMENT): RuntimeAgreement {
  if (a.count !== b.count || a.data.length !== b.data.length || a.height !== b.height || a.width !== b.width || a.channels !== b.channels) {
    throw new FarmerError('FARMER_E_SHAPE', `compareRuntimeImages: ${a.count}×${a.height}×${a.width}×${a.channels} vs ${b.count}×${b.height}×${b.width}×${b.channels} images`);
  }
  const px = a.height * a.width * a.channels;
  let identical = 0;
  let roundedPixels = 0;
  let comparedPixels = 0;
  let maxRoundedLevels = 0;
  const diverged: number[] = [];
  for (let i = 0; i < a.count; i++) {
    let differ = 0;
    let max = 0;
    for (let j = i * px; j < (i + 1) * px; j++) {
      const d = Math.abs(a.data[j] - b.data[j]);
      if (d) differ++;
      if (d > max) max = d;
    }
    if (max > rule.maxLevels) {
      diverged.push(i);
      continue;
    }
    if (differ === 0) identical++;
    roundedPixels += differ;
    comparedPixels += px;
    maxRoundedLevels = Math.max(maxRoundedLevels, max);
  }
  const divergedAllowed = Math.ceil(rule.maxDivergedShare * a.count);
  const holds = diverged.length <= divergedAllowed && roundedPixels <= rule.maxPixelShare * comparedPixels;
  const summary =
    `${a.count} images: ${identical} identical, ${a.count - identical - diverged.length} within ${rule.maxLevels} level ` +
    `(${roundedPixels} of ${comparedPixels} pixels, at most ${rule.maxPixelShare * 100}% allowed), ` +
    `${diverged.length} diverged${diverged.length ? ` (${diverged.slice(0, 10).join(', ')}${diverged.length > 10 ? ', …' : ''})` : ''}, at most ${divergedAllowed} allowed`;
  return { images: a.count, identical, diverged, divergedAllowed, roundedPixels, comparedPixels, maxRoundedLevels, holds, summary };
}
