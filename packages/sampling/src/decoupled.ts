import type { GmmBatch } from '@farmer/ar-gmm/browser';
import { FarmerError, type Rng } from '@farmer/core/browser';
import { searchCumulative, softmaxCumulative } from './categorical.js';
import { GENERATE_OPTIONS_SCHEMA, type GenerateOptionsInput } from './generate-options-schema.js';
import { checkCount, checkGmm } from './option-checks.js';
import { parseOptions } from './parse-options.js';

export { PAPER_UNGUIDED_DECOUPLED } from './sampler-defaults.js';

/** The settings of decoupled sampling: the shape of the schema's `redundant` (every field optional). */
const DECOUPLED_SCHEMA = GENERATE_OPTIONS_SCHEMA.shape.redundant.unwrap();

/**
 * Options of decoupled GMM sampling (docs/method.md §7.2 decoupled sampling):
 * mixture-weight temperature T > 0 (k ~ Cat(softmax(logits / T)); T > 1
 * flattens, for diversity) and component scale s > 0 (z = μ_k + s·σ_k·ε;
 * s < 1 concentrates each component, for precision). Bounds and
 * descriptions: the generate-options schema.
 */
export type DecoupledOptions = NonNullable<GenerateOptionsInput['redundant']>;

/** {@link DecoupledOptions} with both values given and validated. */
export type ResolvedDecoupledOptions = Required<{ [K in keyof DecoupledOptions]: number }>;

/** Draws from a GMM batch together with the component each came from. */
export interface GmmDraws {
  /** Vectors per row. */
  count: number;
  /** Samples [B, count, dim], row-major. */
  z: Float32Array;
  /** Component index of each sample [B, count]. */
  components: Int32Array;
}

const WHERE = 'decoupled sampling';

/** Validates decoupled options, each absent value taken as 1 (the mixture as it is). */
function resolveDecoupled(options: DecoupledOptions): ResolvedDecoupledOptions {
  const o = parseOptions(DECOUPLED_SCHEMA, options, WHERE);
  return { temperature: o.temperature ?? 1, scale: o.scale ?? 1 };
}

/**
 * Decoupled ancestral sampling (docs/method.md §7.2 decoupled sampling),
 * `count` vectors per row: k ~ Cat(softmax(logits / T)), then
 * z = μ_k + s·σ_k·ε with ε ~ N(0, I). Absent options are 1.
 * Row by row, draws the row's components, then one block of normals, so
 * the output is a deterministic function of the Rng state.
 *
 * Throws FARMER_E_NON_FINITE (naming the row) when a row has no finite logit
 * or a drawn component has a non-finite μ or a σ that is not finite and > 0.
 *
 * @param g mixtures: logits [B, K], means/sigmas [B, K, dim]
 * @param count vectors per row, an integer ≥ 1
 * @returns z [B, count, dim] and components [B, count]
 */
export function drawDecoupled(g: GmmBatch, count: number, rng: Rng, options: DecoupledOptions = {}): GmmDraws {
  checkGmm(WHERE, 'gmm', g);
  checkCount(WHERE, 'count', count, 1);
  return decoupledRows(g, count, Array<Rng>(g.batch).fill(rng), resolveDecoupled(options));
}

/**
 * One decoupled draw per row (docs/method.md §7.2 decoupled sampling):
 * k ~ Cat(softmax(logits / T)), z = μ_k + s·σ_k·ε. See {@link drawDecoupled}
 * for errors.
 *
 * @returns z [B, dim]
 */
export function sampleDecoupled(g: GmmBatch, rng: Rng, options: DecoupledOptions = {}): Float32Array {
  return drawDecoupled(g, 1, rng, options).z;
}

/**
 * `count` independent decoupled draws per row, all from that row's mixture: the
 * redundant group, whose N vectors share the one GMM G_{N+1}
 * (docs/method.md §4.4 GMM heads).
 *
 * @param count vectors per row, an integer ≥ 1 (N for the redundant group)
 * @returns z [B, count, dim]
 */
export function sampleDecoupledMany(g: GmmBatch, count: number, rng: Rng, options: DecoupledOptions = {}): Float32Array {
  return drawDecoupled(g, count, rng, options).z;
}

/**
 * Decoupled draws for rows 0..R−1 of `g`, R = rngs.length, row r from its
 * own generator `rngs[r]` (one per image, so a batch draws what each image
 * draws alone), with options resolved at the edge (unchecked here).
 * Throws FARMER_E_NON_FINITE as {@link drawDecoupled} does.
 *
 * @returns z [R, count, dim] and components [R, count]
 */
export function decoupledRows(g: GmmBatch, count: number, rngs: readonly Rng[], o: ResolvedDecoupledOptions): GmmDraws {
  const draws = proposeRows(g, 0, count, o.temperature, o.scale, rngs);
  assertFiniteDraws(g, draws);
  return draws;
}

/**
 * The unchecked core shared with resampling CFG: `count` candidates for
 * each of the rows first..first+R−1 of `g`, R = rngs.length, row first + r
 * drawn from `rngs[r]`. Proposals are allowed to be broken there (they are
 * then excluded), so this never throws. A row without a usable logit gets
 * component −1 and NaN vectors; a component with a non-finite μ or a σ
 * that is not finite and > 0 yields NaN entries.
 *
 * RNG use, per row: `count` uniforms (components), then count·dim normals.
 *
 * @returns z [R, count, dim] and components [R, count]
 */
export function proposeRows(g: GmmBatch, first: number, count: number, temperature: number, scale: number, rngs: readonly Rng[]): GmmDraws {
  const { k, dim } = g;
  const rows = rngs.length;
  const components = new Int32Array(rows * count);
  const z = new Float32Array(rows * count * dim);
  const cum = new Float64Array(k);
  for (let r = 0; r < rows; r++) {
    const rng = rngs[r];
    const row = first + r;
    const total = softmaxCumulative(g.logits, row * k, k, 1 / temperature, cum);
    for (let i = 0; i < count; i++) {
      const u = rng.next(); // consumed even for a dead row, so later draws see the same stream
      components[r * count + i] = total > 0 ? searchCumulative(cum, k, total, u) : -1;
    }
    z.set(rng.normal(count * dim), r * count * dim);
    for (let i = 0; i < count; i++) {
      const c = components[r * count + i];
      const out = (r * count + i) * dim;
      if (c < 0) {
        z.fill(NaN, out, out + dim);
        continue;
      }
      const base = (row * k + c) * dim;
      for (let j = 0; j < dim; j++) {
        const sigma = g.sigmas[base + j];
        z[out + j] = sigma > 0 && sigma < Infinity ? g.means[base + j] + scale * sigma * z[out + j] : NaN;
      }
    }
  }
  return { count, z, components };
}

function assertFiniteDraws(g: GmmBatch, d: GmmDraws): void {
  const { dim } = g;
  for (let s = 0; s < d.components.length; s++) {
    const row = Math.floor(s / d.count);
    const c = d.components[s];
    if (c < 0) {
      throw new FarmerError('FARMER_E_NON_FINITE', `${WHERE}: row ${row} of logits has no finite entry; check the AR head output`, {
        field: 'logits',
        row,
      });
    }
    for (let j = 0; j < dim; j++) {
      if (!Number.isFinite(d.z[s * dim + j])) {
        throw new FarmerError(
          'FARMER_E_NON_FINITE',
          `${WHERE}: row ${row}, component ${c}, dim ${j} has a non-finite mean or a sigma that is not finite and > 0`,
          { field: 'means/sigmas', row, component: c, dim: j },
        );
      }
    }
  }
}
