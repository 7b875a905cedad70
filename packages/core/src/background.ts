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

/**
 * The background of anything that may record one (a dataset, a model
 * config, decoding options): its own, else black. The one place where an
 * absent background means black, so that data and models from before
 * backgrounds existed keep their meaning.
 */
export function backgroundOf(x: { readonly background?: Background }): Background {
  return x.background ?? BLACK_BACKGROUND;
}

/** Whether two backgrounds are the same colour. */
export function sameBackground(a: Background, b: Background): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/**
 * Straight-alpha RGBA pixels [P, 4] (a decoded PNG, a canvas's
 * `getImageData`) composited on `background` into [P, channels] u8
 * (docs/method.md §2.6 Transparency): 3 channels are each composited and
 * rounded; 1 channel is the luma 0.299·R + 0.587·G + 0.114·B of the
 * unrounded composited channels, rounded (a pixel whose three composited
 * channels are equal is that value, rounded, so grey images stay exact).
 * Every image that becomes model input goes through this.
 */
export function compositeRgba(rgba: ArrayLike<number>, channels: 1 | 3, background: Background = BLACK_BACKGROUND): Uint8Array {
  const [br, bg, bb] = checkBackground(background);
  if (channels !== 1 && channels !== 3) throw new FarmerError('FARMER_E_BAD_INPUT', `channels must be 1 or 3, got ${channels}`, { field: 'channels' });
  if (rgba.length % 4) throw new FarmerError('FARMER_E_BAD_INPUT', `RGBA pixels need 4 values each, got ${rgba.length} values`, { field: 'rgba' });
  const pixels = rgba.length / 4;
  const out = new Uint8Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const alpha = rgba[p * 4 + 3];
    const r = compositeChannel(rgba[p * 4], alpha, br);
    const g = compositeChannel(rgba[p * 4 + 1], alpha, bg);
    const b = compositeChannel(rgba[p * 4 + 2], alpha, bb);
    if (channels === 1) out[p] = r === g && g === b ? Math.round(r) : Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else {
      out[p * 3] = Math.round(r);
      out[p * 3 + 1] = Math.round(g);
      out[p * 3 + 2] = Math.round(b);
    }
  }
  return out;
}

/** Throws FARMER_E_BAD_INPUT unless `bg` is three integers in 0..255. */
export function checkBackground(bg: Background, field = 'background'): Background {
  if (!Array.isArray(bg) || bg.length !== 3 || bg.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${field} must be an RGB triple of integers 0..255, got ${JSON.stringify(bg)}`, { field });
  }
  return bg;
}
