import { tf } from '@farmer/core';
import { isFlipBlock } from './permutation.js';

/** Permutes tokens along `axis` (1 for [B, N, d], 0 for [N, W]) for block t. */
export function permuteTokens<T extends tf.Tensor>(t: number, x: T, axis = 1): T {
  return isFlipBlock(t) ? (tf.reverse(x, axis) as T) : x;
}
