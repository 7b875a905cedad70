import { GmmRowScorer, type GmmBatch } from '@farmer/ar-gmm/browser';
import { FarmerError, type Rng } from '@farmer/core/browser';
import { effectiveSampleSize, searchCumulative, softmaxCumulative } from './categorical.js';
import { proposeRows } from './decoupled.js';
import { GENERATE_OPTIONS_SCHEMA, type GenerateOptionsInput, type ParsedGenerateOptions } from './generate-options-schema.js';
import { checkCount, checkGmmPair } from './option-checks.js';
import { parseOptions } from './parse-options.js';

export { PAPER_RESAMPLING_CFG } from './sampler-defaults.js';

/** The schema's `cfg`: resampling CFG's settings and the guidance schedule. */
const CFG_SCHEMA = GENERATE_OPTIONS_SCHEMA.shape.cfg;

/**
 * Resampling-based CFG (docs/method.md §7.4 resampling CFG, the paper's
 * Algorithm 1): guidance w ≥ 0 (the target is ∝ p_c^(w+1) / p_u^w);
 * informative candidates sc ≥ 1 from G_c and su ≥ 0 from G_u; proposal and
 * evaluation temperatures (T_π, T_σ); sharpening T_s > 0; redundant pools
 * poolC ≥ 1 and poolU ≥ 0. Every field is optional; defaults are the
 * paper's 1.1B-p16 row ({@link PAPER_RESAMPLING_CFG}); bounds and
 * descriptions are the generate-options schema's `cfg`.
 */
export type ResamplingCfgOptions = Omit<NonNullable<GenerateOptionsInput['cfg']>, 'schedule'>;

/** {@link ResamplingCfgOptions} with every default filled in and validated. */
export type ResolvedResamplingCfgOptions = Omit<ParsedGenerateOptions['cfg'], 'schedule'>;

const WHERE = 'resampling CFG';

/** Fills defaults and validates; errors name the field and its allowed range. Call once at the edge and reuse. */
export function resolveResamplingCfgOptions(options: ResamplingCfgOptions = {}): ResolvedResamplingCfgOptions {
  const { schedule: _schedule, ...resolved } = parseOptions(CFG_SCHEMA, options, WHERE);
  return resolved;
}

/**
 * What a resampling step did, per row. Each row's pool holds P candidates:
 * indices [0, fromCond) were proposed by G_c, [fromCond, P) by G_u.
 */
export interface ResamplingDiagnostics {
  /** Candidates per row P. */
  poolSize: number;
  /** How many of them came from G_c (the first ones). */
  fromCond: number;
  /** The pool [B, P, dim]. */
  candidates: Float32Array;
  /** Log-weights [B, P] before sharpening; NaN marks an excluded candidate (non-finite vector or score). */
  logWeights: Float64Array;
  /** Selection probabilities [B, P] actually used (softmax(T_s · logw), or the fallback's). */
  probabilities: Float64Array;
  /** Chosen pool index of each output vector [B, count]. */
  chosen: Int32Array;
  /** 1 where the chosen candidate came from G_u [B, count]. */
  fromUncond: Uint8Array;
  /** Effective sample size (Σp)²/Σp² of `probabilities` [B]; near 1 means one candidate took all the mass. */
  ess: Float64Array;
  /** 1 for rows where no log-weight was usable and the row fell back to a conditional draw [B]. */
  fallback: Uint8Array;
}

/** Output of a resampling step: the vectors and what produced them. */
export interface ResampledDraws {
  /** [B, dim] for the informative step, [B, n, dim] for the redundant step. */
  z: Float32Array;
  diagnostics: ResamplingDiagnostics;
}

/**
 * Informative step of resampling CFG (docs/method.md §7.4 resampling CFG), one
 * token for every row. Per row: propose sc candidates from G_c and su from G_u
 * (each by decoupled sampling with T = proposal.pi, s = proposal.sigma); score
 * each under both mixtures with the evaluation temperatures; log-weight
 * w·(log p_c − log p_u) for G_c candidates, (w + 1)·(log p_c − log p_u) for G_u
 * ones (self-normalised importance weights of p_c^(w+1)/p_u^w against the
 * candidate's own proposal); draw one index from softmax(sharpen · logw). Feed
 * the result to both AR streams.
 *
 * With all temperatures 1 and sharpen = 1 the output converges in distribution
 * to ∝ p_c^(w+1)/p_u^w as sc, su → ∞ (w = 0: to p_c). With the paper's
 * temperatures it is a deliberate, biased sharpening of that target.
 *
 * Numerics: a candidate whose vector, log p_c or log p_u is NaN (a NaN
 * parameter, or a mixture row without a finite logit), or whose log-weight is
 * NaN, is excluded (weight 0); +∞ log-weights share the mass.
 * A row with no usable weight falls back to a conditional draw: a uniform
 * pick among its finite G_c candidates, which are draws from G_c at the
 * proposal temperatures (flagged in `diagnostics.fallback`). If G_c itself
 * gives no finite candidate, throws FARMER_E_NON_FINITE. Never returns NaN.
 *
 * @param cond G_c for every row: logits [B, K], means/sigmas [B, K, dim]
 * @param uncond G_u, same B and dim
 * @returns z [B, dim] and diagnostics (pool P = sc + su)
 */
export function resamplingCfgInformative(cond: GmmBatch, uncond: GmmBatch, rng: Rng, options: ResamplingCfgOptions = {}): ResampledDraws {
  checkGmmPair(WHERE, cond, uncond, false);
  const o = resolveResamplingCfgOptions(options);
  return resampleRows({ cond, uncond, uncondFirst: 0 }, { nc: o.sc, nu: o.su, count: 1 }, o, Array<Rng>(cond.batch).fill(rng));
}

/**
 * Redundant step of resampling CFG (docs/method.md §7.5 redundant resampling):
 * per row one pool of poolC candidates from G_c,N+1 and poolU from G_u,N+1,
 * weighted exactly as in {@link resamplingCfgInformative}, then each of the n
 * redundant vectors is an independent draw from that pool, with replacement.
 * Duplicates are therefore expected, and when the weights are concentrated
 * (small `diagnostics.ess`) most of the n vectors coincide; that is the
 * algorithm, not a bug. (For two unrelated random mixtures at K = 200, d = 640
 * the ESS is ≈ 1, i.e. all n vectors of a row are the same candidate; check
 * `ess` on a trained model.) Same numerics and fallback as the informative
 * step.
 *
 * @param n redundant vectors per row (N, one per token), integer ≥ 1
 * @returns z [B, n, dim] and diagnostics (pool P = poolC + poolU)
 */
export function resamplingCfgRedundant(cond: GmmBatch, uncond: GmmBatch, n: number, rng: Rng, options: ResamplingCfgOptions = {}): ResampledDraws {
  checkGmmPair(WHERE, cond, uncond, false);
  checkCount(WHERE, 'n', n, 1);
  const o = resolveResamplingCfgOptions(options);
  return resampleRows({ cond, uncond, uncondFirst: 0 }, { nc: o.poolC, nu: o.poolU, count: n }, o, Array<Rng>(cond.batch).fill(rng));
}

/**
 * Where a batch's conditional and null mixtures are: image r's G_c is row r
 * of `cond`, its G_u row `uncondFirst + r` of `uncond`. The CFG stream holds
 * both in one batch of 2B rows (`cond` = `uncond`, `uncondFirst` = B;
 * docs/method.md §7.9 CFG streams), so no row is copied out.
 */
export interface CfgRows {
  cond: GmmBatch;
  uncond: GmmBatch;
  uncondFirst: number;
}

/** One resampling step's pool per image: `nc` candidates from G_c, `nu` from G_u, and `count` draws from it. */
export interface PoolSizes {
  nc: number;
  nu: number;
  count: number;
}

/**
 * A resampling step for a whole batch, image r drawing from its own
 * generator `rngs[r]` (B = rngs.length), with options resolved at the edge
 * (unchecked here): `nc` + `nu` candidates per image (sc + su for the
 * informative step, poolC + poolU for the redundant one), `count` draws
 * from each pool. Image r's draws are those of a batch of one with
 * `rngs[r]`. Numerics and errors as {@link resamplingCfgInformative}.
 * RNG use, per image: its proposals from G_c, its proposals from G_u, then
 * `count` uniforms for its selections.
 *
 * @returns z [B, count, dim] and diagnostics
 */
export function resampleRows({ cond, uncond, uncondFirst }: CfgRows, { nc, nu, count }: PoolSizes, o: ResolvedResamplingCfgOptions, rngs: readonly Rng[]): ResampledDraws {
  const batch = rngs.length;
  const { dim } = cond;
  const pool = nc + nu;
  const fromC = proposeRows(cond, 0, nc, o.proposal.pi, o.proposal.sigma, rngs).z;
  const fromU = nu > 0 ? proposeRows(uncond, uncondFirst, nu, o.proposal.pi, o.proposal.sigma, rngs).z : new Float32Array(0);

  const candidates = new Float32Array(batch * pool * dim);
  const logWeights = new Float64Array(batch * pool);
  const scoreC = new GmmRowScorer(cond, o.evaluation);
  const scoreU = new GmmRowScorer(uncond, o.evaluation);
  for (let r = 0; r < batch; r++) {
    scoreC.setRow(r);
    scoreU.setRow(uncondFirst + r);
    candidates.set(fromC.subarray(r * nc * dim, (r + 1) * nc * dim), r * pool * dim);
    candidates.set(fromU.subarray(r * nu * dim, (r + 1) * nu * dim), (r * pool + nc) * dim);
    for (let i = 0; i < pool; i++) {
      const off = (r * pool + i) * dim;
      const coef = i < nc ? o.w : o.w + 1;
      logWeights[r * pool + i] = allFinite(candidates, off, dim) ? guidanceLogWeight(scoreC, scoreU, candidates, off, coef) : NaN;
    }
  }

  const probabilities = new Float64Array(batch * pool);
  const chosen = new Int32Array(batch * count);
  const fromUncond = new Uint8Array(batch * count);
  const ess = new Float64Array(batch);
  const fallback = new Uint8Array(batch);
  const z = new Float32Array(batch * count * dim);
  const cum = new Float64Array(pool);
  const uniformOverCond = new Float64Array(pool);
  for (let r = 0; r < batch; r++) {
    let total = softmaxCumulative(logWeights, r * pool, pool, o.sharpen, cum);
    if (total === 0) {
      fallback[r] = 1;
      for (let i = 0; i < pool; i++) uniformOverCond[i] = i < nc && allFinite(candidates, (r * pool + i) * dim, dim) ? 0 : -Infinity;
      total = softmaxCumulative(uniformOverCond, 0, pool, 1, cum);
      if (total === 0) {
        throw new FarmerError('FARMER_E_NON_FINITE', `${WHERE}: row ${r} of cond gives no finite candidate; check the conditional AR stream's GMM`, {
          field: 'cond',
          row: r,
        });
      }
    }
    for (let i = 0; i < pool; i++) probabilities[r * pool + i] = (cum[i] - (i > 0 ? cum[i - 1] : 0)) / total;
    ess[r] = effectiveSampleSize(cum, pool);
    for (let j = 0; j < count; j++) {
      const pick = searchCumulative(cum, pool, total, rngs[r].next());
      chosen[r * count + j] = pick;
      fromUncond[r * count + j] = pick >= nc ? 1 : 0;
      z.set(candidates.subarray((r * pool + pick) * dim, (r * pool + pick + 1) * dim), (r * count + j) * dim);
    }
  }
  return {
    z,
    diagnostics: { poolSize: pool, fromCond: nc, candidates, logWeights, probabilities, chosen, fromUncond, ess, fallback },
  };
}

/**
 * Algorithm 1's log-weight of one candidate: coef·(log p_c(z) − log p_u(z))
 * under the evaluation temperatures, coef = w (from G_c) or w + 1 (from G_u).
 * coef = 0 gives exactly 0 (the weight does not depend on p_u then, and
 * 0·∞ must not become NaN).
 */
function guidanceLogWeight(scoreC: GmmRowScorer, scoreU: GmmRowScorer, z: Float32Array, off: number, coef: number): number {
  if (coef === 0) return 0;
  // NaN (excluded) when either density is NaN or both are the same infinity.
  return coef * (scoreC.logDensity(z, off) - scoreU.logDensity(z, off));
}

function allFinite(a: Float32Array, off: number, len: number): boolean {
  for (let j = 0; j < len; j++) if (!Number.isFinite(a[off + j])) return false;
  return true;
}
