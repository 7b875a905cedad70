import { logMixtureWeights, logSumExp, type GmmBatch, type GmmTemperature } from '@farmer/ar-gmm';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Scores many vectors against one row of a GMM batch: the same value as
 * `gmmLogDensity(g, row, z, off, temp)` from @farmer/ar-gmm
 * (docs/method.md §4.6 GMM log-density, with the temperatures of
 * docs/method.md §7.3 GMM temperatures), with the per-row work hoisted out of
 * the loop. For each component it keeps
 * log π_k − Σ_j log(T_σ·σ_kj) − (dim/2)·log 2π and 1/(T_σ·σ_kj), so a vector
 * costs K·dim multiply-adds and K exps instead of K·dim logarithms (the
 * redundant pool scores ~128 vectors against a K = 200, d = 640 mixture per
 * image). Float64 throughout.
 *
 * NaN anywhere (a NaN coordinate, mean, σ or logit) gives NaN. This differs
 * from `gmmLogDensity`, whose logSumExp skips NaN when picking the maximum and
 * so returns −∞ (density 0) when every component is NaN; here that would turn
 * a broken stream into an infinite guidance weight instead of an excluded
 * candidate.
 */
export class GmmRowScorer {
  private readonly logConst: Float64Array<ArrayBuffer>; // [K]
  private readonly invSigma: Float64Array; // [K, dim]
  private readonly comp: Float64Array; // [K] scratch
  private row = -1;

  constructor(
    private readonly g: GmmBatch,
    private readonly temp: Required<GmmTemperature>,
  ) {
    this.logConst = new Float64Array(g.k);
    this.invSigma = new Float64Array(g.k * g.dim);
    this.comp = new Float64Array(g.k);
  }

  /** Precomputes the constants of row `row` (a no-op if it is already loaded). */
  setRow(row: number): void {
    if (row === this.row) return;
    const { g } = this;
    const { k, dim } = g;
    logMixtureWeights(g, row, this.temp.pi, this.logConst);
    for (let c = 0; c < k; c++) {
      const base = (row * k + c) * dim;
      let logDet = 0;
      for (let j = 0; j < dim; j++) {
        const s = this.temp.sigma * g.sigmas[base + j];
        logDet += Math.log(s);
        this.invSigma[c * dim + j] = 1 / s;
      }
      this.logConst[c] -= logDet + dim * HALF_LOG_2PI;
    }
    this.row = row;
  }

  /** log G_row(z[off .. off + dim)) under the scorer's temperatures. Call setRow first. */
  logDensity(z: ArrayLike<number>, off: number): number {
    const { k, dim } = this.g;
    const base = this.row * k * dim;
    const means = this.g.means;
    for (let c = 0; c < k; c++) {
      let q = 0;
      const cb = c * dim;
      for (let j = 0; j < dim; j++) {
        const u = (z[off + j] - means[base + cb + j]) * this.invSigma[cb + j];
        q += u * u;
      }
      const v = this.logConst[c] - 0.5 * q;
      if (Number.isNaN(v)) return NaN;
      this.comp[c] = v;
    }
    return logSumExp(this.comp);
  }
}
