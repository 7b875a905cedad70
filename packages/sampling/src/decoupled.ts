import type { GmmBatch } from '@farmer/ar-gmm/browser';
import { FarmerError, type Rng } from '@farmer/core/browser';
import { searchCumulative, softmaxCumulative } from './categorical.js';
import { checkCount, checkGmm, checkPositive } from './option-checks.js';

/** Options of decoupled GMM sampling (docs/method.md §7.2 decoupled sampling). */
export interface DecoupledOptions {
  /** Mixture-weight temperature T > 0: k ~ Cat(softmax(logits / T)); T > 1 flattens (diversity). Default 1. */
  temperature?: number;
  /** Component scale s > 0: z = μ_k + s·σ_k·ε; s < 1 concentrates each component (precision). Default 1. */
  scale?: number;
}

/** Draws from a GMM batch together with the component each came from. */
export interface GmmDraws {
  /** Vectors per row. */
  count: number;
  /** Samples [B, count, dim], row-major. */
  z: Float32Array;
  /** Component index of each sample [B, count]. */
  components: Int32Array;
}

/** The paper's unguided setting (docs/method.md §7.2 decoupled sampling): s = 0.9, T = 1.3. */
export const PAPER_UNGUIDED_DECOUPLED: Readonly<Required<DecoupledOptions>> = Object.freeze({ temperature: 1.3, scale: 0.9 });

const WHERE = 'decoupled sampling';

/**
 * Decoupled ancestral sampling (docs/method.md §7.2 decoupled sampling),
 * `count` vectors per row: k ~ Cat(softmax(logits / T)), then
 * z = μ_k + s·σ_k·ε with ε ~ N(0, I).
 * Draws every component first (row-major), then one block of normals, so the
 * output is a deterministic function of the Rng state.
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
  const temperature = checkPositive(WHERE, 'temperature', options.temperature ?? 1);
  const scale = checkPositive(WHERE, 'scale', options.scale ?? 1);
  const draws = proposeFromGmm(g, count, temperature, scale, rng);
  assertFiniteDraws(g, draws);
  return draws;
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
 * The unchecked core shared with resampling CFG: proposals are allowed to be
 * broken there (they are then excluded), so this never throws. A row without
 * a usable logit gets component −1 and NaN vectors; a component with a
 * non-finite μ or a σ that is not finite and > 0 yields NaN entries.
 *
 * RNG use: B·count uniforms (components), then B·count·dim normals.
 */
export function proposeFromGmm(g: GmmBatch, count: number, temperature: number, scale: number, rng: Rng): GmmDraws {
  const { batch, k, dim } = g;
  const components = new Int32Array(batch * count);
  const cum = new Float64Array(k);
  for (let r = 0; r < batch; r++) {
    const total = softmaxCumulative(g.logits, r * k, k, 1 / temperature, cum);
    for (let i = 0; i < count; i++) {
      const u = rng.next(); // consumed even for a dead row, so later rows see the same stream
      components[r * count + i] = total > 0 ? searchCumulative(cum, k, total, u) : -1;
    }
  }
  const z = rng.normal(batch * count * dim);
  for (let r = 0; r < batch; r++) {
    for (let i = 0; i < count; i++) {
      const c = components[r * count + i];
      const out = (r * count + i) * dim;
      if (c < 0) {
        z.fill(NaN, out, out + dim);
        continue;
      }
      const base = (r * k + c) * dim;
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
