import { checkLabels, NULL_LABEL } from '@farmer/core/browser';

/**
 * Rows of the AR class table (docs/method.md §4.3 AR sequence) for a batch:
 * class c ≥ 0 → row c, the null label -1 (or no labels, or an unconditional model) → row
 * numClasses, checked by core's `checkLabels` as in the tfjs AR's
 * `classSelector`. int64, as the graphs' `class_row` input takes.
 */
export function classRows(labels: ArrayLike<number> | null | undefined, batch: number, numClasses: number): BigInt64Array {
  const classes = checkLabels(labels, batch, numClasses);
  return BigInt64Array.from(classes, (y) => BigInt(y === NULL_LABEL ? numClasses : y));
}
