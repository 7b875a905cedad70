import { FarmerError } from './errors.js';

/** An opaque RGB colour, each channel an integer 0..255, that transparent pixels are composited on. */
export type Background = readonly [r: number, g: number, b: number];

/**
 * The default background: black. It is what `decodePng` always did, so models
 * trained before backgrounds existed keep their meaning.
 */
export const BLACK_BACKGROUND: Background = [0, 0, 0];

/** White, for data drawn on a light page (the emoji dataset's background). */
export const WHITE_BACKGROUND: Background = [255, 255, 255];

/**
 * One channel of a straight-alpha pixel composited on an opaque background,
 * unrounded: c·a + bg·(1 − a), a = alpha/255 (docs/method.md §2.6 Transparency).
 * Callers round (a colour channel) or mix first (grey is the luma of the
 * unrounded channels).
 */
export function compositeChannel(c: number, alpha: number, bg: number): number {
  const a = alpha / 255;
  return c * a + bg * (1 - a);
}

/** Throws FARMER_E_BAD_INPUT unless `bg` is three integers in 0..255. */
export function checkBackground(bg: Background, field = 'background'): Background {
  if (!Array.isArray(bg) || bg.length !== 3 || bg.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${field} must be an RGB triple of integers 0..255, got ${JSON.stringify(bg)}`, { field });
  }
  return bg;
}
