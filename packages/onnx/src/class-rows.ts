import { FarmerError } from '@farmer/core';

/**
 * Rows of the AR class table (docs/method.md §4.3 AR sequence) for a batch:
 * class c ≥ 0 → row c, the null label -1 (or no labels, or an unconditional
 * model) → row numClasses. The same validation as the tfjs AR's
 * `classSelector`. int64, as the graphs' `class_row` input takes.
 */
export function classRows(labels: ArrayLike<number> | null | undefined, batch: number, numClasses: number): BigInt64Array {
  const rows = new BigInt64Array(batch);
  for (let i = 0; i < batch; i++) {
    const y = labels ? labels[i] : -1;
    if (numClasses === 0 || y === -1) rows[i] = BigInt(numClasses);
    else if (Number.isInteger(y) && y >= 0 && y < numClasses) rows[i] = BigInt(y);
    else throw new FarmerError('FARMER_E_BAD_INPUT', `label ${y} at index ${i} is outside [0, ${numClasses}) (use -1 for the null label)`, { field: 'labels', index: i });
  }
  return rows;
}
