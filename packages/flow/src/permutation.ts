import { tf } from '@farmer/core';

/**
 * docs/method.md §3.4 permutations: block t uses the identity when t is even
 * and reverses the token order when t is odd. Both are involutions, so the
 * same call undoes it.
 */
export function isFlipBlock(t: number): boolean {
  return t % 2 === 1;
}

/** Permutes tokens along `axis` (1 for [B, N, d], 0 for [N, W]) for block t. */
export function permuteTokens<T extends tf.Tensor>(t: number, x: T, axis = 1): T {
  return isFlipBlock(t) ? (tf.reverse(x, axis) as T) : x;
}

/** Position, in the block's working order, of original token `j`. */
export function permutedIndex(t: number, j: number, n: number): number {
  return isFlipBlock(t) ? n - 1 - j : j;
}
