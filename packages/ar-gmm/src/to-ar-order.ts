import type { tf } from '@farmer/core';
import { permuteTokens } from '@farmer/flow';
import type { FarmerConfig } from './config.js';
import { finalPermuteFlips } from './final-permute.js';

/** AF order ↔ AR order for z [B, N, d] (an involution). */
export function toArOrder<T extends tf.Tensor>(c: FarmerConfig, z: T): T {
  return finalPermuteFlips(c) ? permuteTokens(1, z) : z;
}
