import { FarmerError } from './errors.js';

/** The null label: an image taken without a class (the unconditional side of guidance). */
export const NULL_LABEL = -1;

/**
 * The class of each of `batch` images, validated against a model with
 * `numClasses` classes: labels[i] is a class in [0, numClasses) or −1, the
 * null label; no labels (null/undefined) gives every image the null label.
 * A model without classes (numClasses 0) conditions on nothing, so its
 * images all take the null label, whatever they were given.
 *
 * Returns the classes [B], −1 for the null label. Throws FARMER_E_BAD_INPUT
 * naming the first bad index, with `{ field, index }` in its details
 * (`field` defaults to 'labels').
 */
export function checkLabels(labels: ArrayLike<number> | null | undefined, batch: number, numClasses: number, field = 'labels'): Int32Array {
  const classes = new Int32Array(batch).fill(NULL_LABEL);
  if (!labels || numClasses === 0) return classes;
  for (let i = 0; i < batch; i++) {
    const y = labels[i];
    if (y === NULL_LABEL) continue;
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `label ${y} at index ${i} is outside [0, ${numClasses}) (use -1 for the null label)`, { field, index: i });
    }
    classes[i] = y;
  }
  return classes;
}
