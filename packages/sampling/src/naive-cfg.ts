import type { GmmBatch } from '@farmer/ar-gmm/browser';
import { FarmerError, type Rng } from '@farmer/core/browser';
import { searchCumulative, softmaxCumulative } from './categorical.js';
import { GENERATE_OPTIONS_SCHEMA, type GenerateOptionsInput, type ParsedGenerateOptions } from './generate-options-schema.js';
import { checkGmmPair } from './option-checks.js';
import { parseOptions } from './parse-options.js';
import type { CfgRows } from './resampling-cfg.js';
import { PAPER_RESAMPLING_CFG } from './sampler-defaults.js';

/** The schema's `naive`. */
const NAIVE_SCHEMA = GENERATE_OPTIONS_SCHEMA.shape.naive;

/**
 * Options of the naive CFG baseline: guidance w ≥ 0 (default 2.5, the
 * resampling default, for like-for-like comparisons; generate's default is
 * cfg.w), temperature T > 0 of the conditional mixture weights used to pick
 * k (default 1), scale s > 0 of the guided Gaussian's σ (default 1), and
 * maxStdRatio r ≥ 1, the largest accepted σ of the guided Gaussian as a
 * multiple of σc (default 2). Where σu < σc, λ approaches 0 and the
 * product's mean and σ run off to huge values (the AF reverse then
 * overflows); those dimensions use the conditional component instead.
 * Infinity keeps every normalisable product. Bounds and descriptions: the
 * generate-options schema's `naive`.
 */
export type NaiveCfgOptions = NonNullable<GenerateOptionsInput['naive']>;

/** {@link NaiveCfgOptions} with every value given and validated. */
export type ResolvedNaiveCfgOptions = Required<ParsedGenerateOptions['naive']>;

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
 * RNG use, row by row: one uniform, then dim normals.
 *
 * @param cond G_c: logits [B, K], means/sigmas [B, K, dim]
 * @param uncond G_u: same B, K and dim
 * @returns z [B, dim], components [B], fallbackDims [B]
 */
export function sampleNaiveCfg(cond: GmmBatch, uncond: GmmBatch, rng: Rng, options: NaiveCfgOptions = {}): NaiveCfgDraws {
  checkGmmPair(WHERE, cond, uncond, true);
  const o = parseOptions(NAIVE_SCHEMA, options, WHERE);
  return naiveCfgRows({ cond, uncond, uncondFirst: 0 }, { ...o, w: o.w ?? PAPER_RESAMPLING_CFG.w }, Array<Rng>(cond.batch).fill(rng));
}

/**
 * Naive CFG for a whole batch, image r drawing from its own generator
 * `rngs[r]` (B = rngs.length) with options resolved at the edge (unchecked
 * here); image r's draws are those of a batch of one with `rngs[r]`.
 * Errors as {@link sampleNaiveCfg}. RNG use, per image: one uniform, then
 * dim normals.
 *
 * @returns z [B, dim], components [B], fallbackDims [B]
 */
export function naiveCfgRows({ cond, uncond, uncondFirst }: CfgRows, o: ResolvedNaiveCfgOptions, rngs: readonly Rng[]): NaiveCfgDraws {
  const { w, temperature, scale, maxStdRatio } = o;
  const { k, dim } = cond;
  const batch = rngs.length;
  const components = new Int32Array(batch);
  const z = new Float32Array(batch * dim);
  const fallbackDims = new Int32Array(batch);
  const cum = new Float64Array(k);
  for (let r = 0; r < batch; r++) {
    const total = softmaxCumulative(cond.logits, r * k, k, 1 / temperature, cum);
    const u = rngs[r].next();
    if (total === 0) {
      throw new FarmerError('FARMER_E_NON_FINITE', `${WHERE}: row ${r} of cond.logits has no finite entry`, { field: 'cond.logits', row: r });
    }
    components[r] = searchCumulative(cum, k, total, u);
    z.set(rngs[r].normal(dim), r * dim);
    const base = (r * k + components[r]) * dim;
    const baseU = ((uncondFirst + r) * k + components[r]) * dim;
    for (let j = 0; j < dim; j++) {
      const muC = cond.means[base + j];
      const sigmaC = cond.sigmas[base + j];
      const muU = uncond.means[baseU + j];
      const sigmaU = uncond.sigmas[baseU + j];
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
