/**
 * docs/method.md §3.4 permutations: block t uses the identity when t is even
 * and reverses the token order when t is odd. Both are involutions, so the
 * same call undoes it.
 */
export function isFlipBlock(t: number): boolean {
  return t % 2 === 1;
}

/** Position, in the block's working order, of original token `j`. */
export function permutedIndex(t: number, j: number, n: number): number {
  return isFlipBlock(t) ? n - 1 - j : j;
}
