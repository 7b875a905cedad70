import { FarmerError } from './errors.js';
import type { U8Images } from './image.js';

/**
 * Mean absolute difference of the bytes of image `i` of `a` and image `j` of
 * `b` (same H, W and C), in levels 0..255: Σ|a − b| / (H·W·C). The measure of
 * near-twins in the emoji split. With `stopAbove`, the sum stops as soon as
 * the mean must exceed it and returns a value above it (not the exact
 * distance), which is all a "nearer than" test needs.
 */
export function meanAbsPixelDifference(a: U8Images, i: number, b: U8Images, j: number, stopAbove = Infinity): number {
  const per = a.height * a.width * a.channels;
  if (b.height * b.width * b.channels !== per || a.channels !== b.channels) {
    throw new FarmerError('FARMER_E_SHAPE', `images of ${a.height}×${a.width}×${a.channels} and ${b.height}×${b.width}×${b.channels} cannot be compared`);
  }
  const limit = stopAbove * per;
  const x = a.data;
  const y = b.data;
  const ox = i * per;
  const oy = j * per;
  let sum = 0;
  // Checked every row of 32 bytes or so: cheap, and most pairs of different images stop early.
  for (let k = 0; k < per; k += 96) {
    const end = Math.min(per, k + 96);
    for (let t = k; t < end; t++) sum += Math.abs(x[ox + t] - y[oy + t]);
    if (sum > limit) return sum / per;
  }
  return sum / per;
}
