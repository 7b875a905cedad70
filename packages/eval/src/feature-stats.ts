import { FarmerError } from '@farmer/core';
import { checkFeatureMatrix, checkFinite, type FeatureMatrix } from './feature-matrix.js';
import { gemmNT } from './gemm.js';

/** The Gaussian fitted to a feature set: what FID compares. */
export interface FeatureStats {
  /** `[dim]`, float64. */
  mean: Float64Array;
  /** `[dim, dim]` row-major, float64; the unbiased sample covariance (divisor count − 1, as `np.cov`). */
  cov: Float64Array;
  /** Number of feature rows the statistics summarise. */
  count: number;
  dim: number;
}

/** Rows buffered before one block update; large enough to run the product at full speed. */
const CHUNK_ROWS = 256;

/**
 * Streaming mean and covariance of feature rows, in float64, so features can
 * be folded in batch by batch as an extractor produces them (50k × 2048
 * features never need to sit in memory at once).
 *
 * Rows are buffered into chunks; each chunk's centred scatter matrix is merged
 * with the running one by Chan et al.'s pairwise update
 * M₂ ← M₂ + M₂ᶜʰᵘⁿᵏ + δδᵀ·n·b/(n + b), which avoids the cancellation of
 * accumulating raw second moments. Cost: count·dim²/2 multiply-adds.
 */
export class FeatureStatsAccumulator {
  readonly dim: number;
  private n = 0;
  private readonly mean: Float64Array;
  /** Σ (x − mean)(x − mean)ᵀ over the rows merged so far, `[dim, dim]`. */
  private readonly m2: Float64Array;
  private readonly chunk: Float64Array;
  private chunkRows = 0;

  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `FeatureStatsAccumulator: dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.mean = new Float64Array(dim);
    this.m2 = new Float64Array(dim * dim);
    this.chunk = new Float64Array(CHUNK_ROWS * dim);
  }

  /** Rows added so far. */
  get count(): number {
    return this.n + this.chunkRows;
  }

  /**
   * Folds in a batch of feature rows.
   *
   * @param x - `[b, dim]`.
   */
  add(x: FeatureMatrix): void {
    checkFeatureMatrix(x, 'features');
    if (x.dim !== this.dim) {
      throw new FarmerError('FARMER_E_SHAPE', `features have dim ${x.dim}, but these statistics were started with dim ${this.dim}; use one extractor for a whole set`);
    }
    checkFinite(x);
    const f = this.dim;
    for (let r = 0; r < x.count; ) {
      const take = Math.min(CHUNK_ROWS - this.chunkRows, x.count - r);
      // TypedArray.set widens float32 exactly.
      this.chunk.set(x.data.subarray(r * f, (r + take) * f), this.chunkRows * f);
      this.chunkRows += take;
      r += take;
      if (this.chunkRows === CHUNK_ROWS) this.flush();
    }
  }

  /**
   * The statistics of all rows added so far. The accumulator stays usable.
   * Needs at least 2 rows (the covariance divides by count − 1).
   */
  finalize(): FeatureStats {
    this.flush();
    if (this.n < 2) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `feature statistics need at least 2 rows, got ${this.n}`);
    }
    const f = this.dim;
    const cov = new Float64Array(f * f);
    const inv = 1 / (this.n - 1);
    for (let i = 0; i < cov.length; i++) cov[i] = this.m2[i] * inv;
    return { mean: Float64Array.from(this.mean), cov, count: this.n, dim: f };
  }

  private flush(): void {
    const b = this.chunkRows;
    if (b === 0) return;
    const f = this.dim;
    const x = this.chunk;
    const mb = new Float64Array(f);
    for (let r = 0; r < b; r++) for (let t = 0; t < f; t++) mb[t] += x[r * f + t];
    for (let t = 0; t < f; t++) mb[t] /= b;
    // Centred chunk, transposed to [dim, b] so the scatter matrix is one A·Aᵀ product.
    const xt = new Float64Array(f * b);
    for (let r = 0; r < b; r++) for (let t = 0; t < f; t++) xt[t * b + r] = x[r * f + t] - mb[t];
    gemmNT(xt, xt, f, f, b, this.m2, { symmetric: true, accumulate: true });
    const n = this.n;
    const total = n + b;
    if (n > 0) {
      const w = (n * b) / total;
      const delta = new Float64Array(f);
      for (let t = 0; t < f; t++) delta[t] = mb[t] - this.mean[t];
      for (let i = 0; i < f; i++) {
        const di = delta[i] * w;
        const row = i * f;
        for (let j = 0; j < f; j++) this.m2[row + j] += di * delta[j];
      }
      for (let t = 0; t < f; t++) this.mean[t] += (delta[t] * b) / total;
    } else this.mean.set(mb);
    this.n = total;
    this.chunkRows = 0;
  }
}

/**
 * Mean and unbiased covariance (float64) of a feature matrix.
 *
 * @param x - `[n, f]`, n ≥ 2.
 * @returns mean `[f]`, cov `[f, f]`.
 */
export function featureStats(x: FeatureMatrix): FeatureStats {
  checkFeatureMatrix(x, 'features', 2);
  const acc = new FeatureStatsAccumulator(x.dim);
  acc.add(x);
  return acc.finalize();
}

/** Checks that `s` holds a `[dim]` mean and a `[dim, dim]` covariance. */
export function checkFeatureStats(s: FeatureStats, name = 'stats'): void {
  const f = s?.dim;
  if (!Number.isInteger(f) || f < 1 || !(s.mean instanceof Float64Array) || !(s.cov instanceof Float64Array)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${name}: expected { mean: Float64Array, cov: Float64Array, count, dim }`, { argument: name });
  }
  if (s.mean.length !== f || s.cov.length !== f * f) {
    throw new FarmerError('FARMER_E_SHAPE', `${name}: mean has ${s.mean.length} values and cov ${s.cov.length}, expected ${f} and ${f}·${f} for dim ${f}`, {
      argument: name,
    });
  }
}
