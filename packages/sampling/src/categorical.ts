/**
 * Turns log-weights into the cumulative sums of softmax(scale · logw), in
 * float64, into `cum` (length `length`). Returns the total mass, or 0 when no
 * entry is usable.
 *
 * Non-finite entries are handled as limits, never as NaN: NaN counts as
 * weight 0; if any entry is +Infinity, the +Infinity entries share all the
 * mass equally (the limit of the softmax); −Infinity is weight 0.
 */
export function softmaxCumulative(logw: ArrayLike<number>, offset: number, length: number, scale: number, cum: Float64Array): number {
  let max = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = scale * logw[offset + i];
    if (v > max) max = v; // NaN never compares greater
  }
  let total = 0;
  if (max === -Infinity) {
    cum.fill(0, 0, length);
    return 0;
  }
  for (let i = 0; i < length; i++) {
    const v = scale * logw[offset + i];
    let p: number;
    if (max === Infinity) p = v === Infinity ? 1 : 0;
    else p = v > -Infinity ? Math.exp(v - max) : 0; // NaN and -Infinity fall through to 0
    total += p;
    cum[i] = total;
  }
  return total;
}

/**
 * Index of the draw `u` ∈ [0, 1) from cumulative weights `cum[0..length)` with
 * total mass `total` > 0: the first i with cum[i] > u·total (binary search).
 * Zero-weight entries are never returned.
 */
export function searchCumulative(cum: Float64Array, length: number, total: number, u: number): number {
  const target = u * total;
  let lo = 0;
  let hi = length - 1;
  if (!(cum[hi] > target)) {
    // Rounding left u·total at the total: take the last entry with mass.
    while (hi > 0 && cum[hi] === cum[hi - 1]) hi--;
    return hi;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Effective sample size (Σp)² / Σp² of the weights behind cumulative sums `cum`. */
export function effectiveSampleSize(cum: Float64Array, length: number): number {
  let prev = 0;
  let sq = 0;
  for (let i = 0; i < length; i++) {
    const p = cum[i] - prev;
    prev = cum[i];
    sq += p * p;
  }
  return sq > 0 ? (prev * prev) / sq : 0;
}
