/*
 * Per-class rates (accuracy or agreement, one per class) combined into one
 * figure two ways (docs/method.md §10.3 Classifier agreement): every class
 * alike, or each class by its share of a split. An agreement drawn with
 * equal samples per class compares with the classifier's class-balanced
 * accuracy on real images; its count-weighted form compares with the plain
 * accuracy.
 */

/** Mean of the per-class rates [C], each class alike; classes without a rate (NaN: no image of it) are left out. NaN when none has one. */
export function balancedMean(perClass: readonly number[]): number {
  const rated = perClass.filter(Number.isFinite);
  return rated.length ? rated.reduce((s, r) => s + r, 0) / rated.length : NaN;
}

/**
 * Σ_c n_c·r_c / Σ_c n_c over the classes with a rate and a count: the rate
 * [C] as it would be on images in the proportions `counts` [C]. NaN when no
 * class has both.
 */
export function countWeightedMean(perClass: readonly number[], counts: readonly number[]): number {
  if (perClass.length !== counts.length) throw new RangeError(`countWeightedMean: ${perClass.length} rates but ${counts.length} counts`);
  let sum = 0;
  let total = 0;
  perClass.forEach((r, c) => {
    if (!Number.isFinite(r) || !(counts[c] > 0)) return;
    sum += counts[c] * r;
    total += counts[c];
  });
  return total > 0 ? sum / total : NaN;
}

/** How many labels [N] fall in each of `numClasses` classes [C]. */
export function classCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}
