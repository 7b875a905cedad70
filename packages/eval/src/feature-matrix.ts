import { FarmerError } from '@farmer/core';

/**
 * A feature matrix `[count, dim]`, row-major: one row of features (or class
 * probabilities) per image. Every metric in this package takes these, so it
 * works with any feature extractor.
 */
export interface FeatureMatrix {
  /** `[count, dim]` row-major. */
  data: Float32Array | Float64Array;
  count: number;
  dim: number;
}

/**
 * Wraps a typed array as a feature matrix `[count, dim]`, checking the size.
 *
 * @param data - `[count, dim]` row-major.
 */
export function featureMatrix(data: Float32Array | Float64Array, count: number, dim: number): FeatureMatrix {
  const x = { data, count, dim };
  checkFeatureMatrix(x);
  return x;
}

/**
 * Checks that `x` is a well-formed `[count, dim]` matrix with at least
 * `minCount` rows. `name` says which argument in the error.
 */
export function checkFeatureMatrix(x: FeatureMatrix, name = 'features', minCount = 0): void {
  if (!x || !(x.data instanceof Float32Array || x.data instanceof Float64Array)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${name}: data must be a Float32Array or Float64Array`, { argument: name });
  }
  if (!Number.isInteger(x.count) || x.count < 0 || !Number.isInteger(x.dim) || x.dim < 1) {
    throw new FarmerError('FARMER_E_SHAPE', `${name}: count and dim must be integers with dim ≥ 1, got [${x.count}, ${x.dim}]`, { argument: name });
  }
  if (x.data.length !== x.count * x.dim) {
    throw new FarmerError(
      'FARMER_E_SHAPE',
      `${name}: ${x.data.length} values for shape [count, dim] = [${x.count}, ${x.dim}], expected ${x.count * x.dim}`,
      { argument: name },
    );
  }
  if (x.count < minCount) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${name}: needs at least ${minCount} rows, got ${x.count}`, { argument: name });
  }
}

/** Throws FARMER_E_NON_FINITE naming the first row of `x` with a NaN or ±Infinity. */
export function checkFinite(x: FeatureMatrix, name = 'features'): void {
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      const row = Math.floor(i / x.dim);
      throw new FarmerError(
        'FARMER_E_NON_FINITE',
        `${name}: row ${row}, column ${i % x.dim} is ${d[i]}; the feature extractor produced a non-finite value (check its input range)`,
        { argument: name, row },
      );
    }
  }
}

/**
 * Rows `[r0, r1)` of `x` as float64. Float64 input is returned as a view;
 * float32 input is widened into `buf` when it is large enough.
 *
 * @returns `[r1 − r0, dim]` row-major.
 */
export function rowsAsFloat64(x: FeatureMatrix, r0: number, r1: number, buf?: Float64Array): Float64Array {
  const d = x.data;
  const len = (r1 - r0) * x.dim;
  if (d instanceof Float64Array) return d.subarray(r0 * x.dim, r1 * x.dim);
  const out = buf && buf.length >= len ? buf.subarray(0, len) : new Float64Array(len);
  out.set(d.subarray(r0 * x.dim, r1 * x.dim));
  return out;
}

/**
 * Gathers the rows `index` of `x` into a new float64 matrix.
 *
 * @returns `[index.length, dim]` row-major.
 */
export function gatherRows(x: FeatureMatrix, index: ArrayLike<number>): Float64Array {
  const f = x.dim;
  const out = new Float64Array(index.length * f);
  for (let i = 0; i < index.length; i++) {
    const r = index[i];
    if (!Number.isInteger(r) || r < 0 || r >= x.count) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `row index ${r} is out of range [0, ${x.count})`);
    }
    out.set(x.data.subarray(r * f, r * f + f), i * f);
  }
  return out;
}
