/** max |a_i − b_i| over equal-length arrays (a length mismatch is a test bug, so it throws). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max |a−b| / (max |b| + tiny): the error relative to the reference's scale. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < b.length; i++) s = Math.max(s, Math.abs(b[i]));
  return maxAbsDiff(a, b) / (s + 1e-30);
}

/**
 * How far apart two u8 image buffers are: the pixels that differ and the
 * largest difference. Comparisons across runtimes use `compareRuntimeImages`
 * from @farmer/sampling instead (docs/method.md §7.10 runtime agreement).
 */
export function u8Diff(a: Uint8Array, b: Uint8Array): { differ: number; max: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let differ = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d) differ++;
    max = Math.max(max, d);
  }
  return { differ, max };
}
