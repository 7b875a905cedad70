import { isFlipBlock } from '@farmer/flow/browser';
import type { FarmerConfig } from './config.js';

/**
 * docs/method.md §4.2 final permute: the AR sees the latent tokens as if it
 * were AF block n, so the direction keeps alternating ('alternate'), unless
 * forced.
 */
export function finalPermuteFlips(c: FarmerConfig): boolean {
  if (c.finalPermute === 'identity') return false;
  if (c.finalPermute === 'flip') return true;
  return isFlipBlock(c.flow.numBlocks);
}

/** AF order ↔ AR order for z [B, N, d] on host arrays (row-major; an involution): returns a new array. */
export function toArOrderHost(c: FarmerConfig, z: Float32Array, batch: number, n: number, d: number): Float32Array {
  if (!finalPermuteFlips(c)) return z.slice();
  const out = new Float32Array(z.length);
  for (let b = 0; b < batch; b++) for (let i = 0; i < n; i++) out.set(z.subarray((b * n + i) * d, (b * n + i + 1) * d), (b * n + (n - 1 - i)) * d);
  return out;
}
