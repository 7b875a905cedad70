import type { GmmBatch } from '@farmer/ar-gmm/browser';
import { FarmerError, type Rng } from '@farmer/core/browser';
import { searchCumulative, softmaxCumulative } from './categorical.js';
import { checkAtLeastOne, checkGmmPair, checkNonNegative, checkPositive } from './option-checks.js';

/** Options of the naive CFG baseline. */
export interface NaiveCfgOptions {
  /** Guidance w ≥ 0. Default 2.5 (the resampling default, for like-for-like comparisons). */
  w?: number;
  /** Temperature T > 0 of the conditional mixture weights used to pick k. Default 1. */
  temperature?: number;
  /** Scale s > 0 of the guided Gaussian's standard deviation. Default 1. */
  scale?: number;
  /**
   * Largest accepted σ of the guided Gaussian, as a multiple r ≥ 1 of σc. Default 2.
   * Where σu < σc, λ approaches 0 and the product's mean and σ run off to huge
   * values (the AF reverse then overflows); those dimensions use the conditional
   * component instead. Infinity keeps every normalisable product.
   */
  maxStdRatio?: number;
}

/** A one-dimensional Gaussian N(mean, std²). */
export interface Gaussian1d {
  mean: number;
  std: number;
}

/** Output of {@link sampleNaiveCfg}. */
export interface NaiveCfgDraws {
  /** Samples [B, dim]. */
  z: Float32Array;
  /** Component k drawn from the conditional mixture, per row [B]. */
  components: Int32Array;
  /** Dimensions per row where the product was not normalisable and the conditional component was used [B]. */
  fallbackDims: Int32Array;
}

/**
 * The guided Gaussian of one dimension: the normalised
 * N(z; μc, σc²)^(1+w) / N(z; μu, σu²)^w, with precision
 * λ = (1+w)/σc² − w/σu² and mean ((1+w)·μc/σc² − w·μu/σu²)/λ.
 * Returns null when λ ≤ 0 (the ratio grows in the tails and has no
 * normalisation; this happens when σu < σc·√(w/(1+w))) or when the result is
 * not finite. Computed in float64.
 */
export function naiveCfgGaussian(muC: number, sigmaC: number, muU: number, sigmaU: number, w: number): Gaussian1d | null {
  const precC = (1 + w) / (sigmaC * sigmaC);
  const precU = w / (sigmaU * sigmaU);
  const lambda = precC - precU;
  if (!(lambda > 0)) return null;
  const mean = (precC * muC - precU * muU) / lambda;
  const std = 1 / Math.sqrt(lambda);
  return Number.isFinite(mean) && Number.isFinite(std) ? { mean, std } : null;
}

const WHERE = 'naive CFG';

/**
 * Naive CFG on GMM heads, the baseline that resampling CFG replaces: per row
 * draw k ~ Cat(softmax(logits_c / T)) from the conditional mixture, then each
 * dimension from {@link naiveCfgGaussian} built from component k of both
 * mixtures (so cond and uncond must have the same K), times the scale s.
 * A dimension whose product is not normalisable (λ ≤ 0), or is wider than
 * maxStdRatio·σc, falls back to the conditional component N(μc, (s·σc)²); the
 * count per row is returned.
 * Mixing the two mixtures by component index assumes component k means the
 * same thing in both streams, which nothing guarantees: that is one reason
 * this is only a baseline.
 *
 * Throws FARMER_E_NON_FINITE when a row of cond has no finite logit or the
 * chosen component has non-finite parameters or a σ that is not > 0.
 * RNG use: B uniforms, then B·dim normals.
 *
 * @param cond G_c: logits [B, K], means/sigmas [B, K, dim]
 * @param uncond G_u: same B, K and dim
 * @returns z [B, dim], components [B], fallbackDims [B]
 */
export function sampleNaiveCfg(cond: GmmBatch, uncond: GmmBatch, rng: Rng, options: NaiveCfgOptions = {}): NaiveCfgDraws {
  checkGmmPair(WHERE, cond, uncond, true);
  const w = checkNonNegative(WHERE, 'w', options.w ?? 2.5);
  const temperature = checkPositive(WHERE, 'temperature', options.temperature ?? 1);
  const scale = checkPositive(WHERE, 'scale', options.scale ?? 1);
  const maxStdRatio = checkAtLeastOne(WHERE, 'maxStdRatio', options.maxStdRatio ?? 2);
  const { batch, k, dim } = cond;

  const components = new Int32Array(batch);
  const cum = new Float64Array(k);
  for (let r = 0; r < batch; r++) {
    const total = softmaxCumulative(cond.logits, r * k, k, 1 / temperature, cum);
    const u = rng.next();
    if (total === 0) {
      throw new FarmerError('FARMER_E_NON_FINITE', `${WHERE}: row ${r} of cond.logits has no finite entry`, { field: 'cond.logits', row: r });
    }
    components[r] = searchCumulative(cum, k, total, u);
  }

  const z = rng.normal(batch * dim);
  const fallbackDims = new Int32Array(batch);
  for (let r = 0; r < batch; r++) {
    const base = (r * k + components[r]) * dim;
    for (let j = 0; j < dim; j++) {
      const muC = cond.means[base + j];
      const sigmaC = cond.sigmas[base + j];
      const muU = uncond.means[base + j];
      const sigmaU = uncond.sigmas[base + j];
      if (![muC, sigmaC, muU, sigmaU].every(Number.isFinite) || !(sigmaC > 0) || !(sigmaU > 0)) {
        throw new FarmerError('FARMER_E_NON_FINITE', `${WHERE}: row ${r}, component ${components[r]}, dim ${j} has a non-finite mean or a sigma that is not finite and > 0`, {
          field: 'means/sigmas',
          row: r,
          component: components[r],
          dim: j,
        });
      }
      let g = naiveCfgGaussian(muC, sigmaC, muU, sigmaU, w);
      if (g === null || g.std > maxStdRatio * sigmaC) {
        g = { mean: muC, std: sigmaC };
        fallbackDims[r]++;
      }
      z[r * dim + j] = g.mean + scale * g.std * z[r * dim + j];
    }
  }
  return { z, components, fallbackDims };
}
