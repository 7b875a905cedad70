import { FarmerError } from '@farmer/core/browser';
import { z } from 'zod';
import { jacobiBlockInverse, toWorkingOrder, type JacobiInit, type JacobiPass, type JacobiPlan } from './jacobi.js';

/*
 * The measurements behind a model's Jacobi plan (docs/method.md §3.13 Jacobi decoding): on latents
 * the model draws itself, each block's exact inverse is the reference; the
 * Initial Guessing Metric picks the start (the latent or zeros, whichever is
 * nearer the exact result), the Convergence Ranking Metric (plain-Jacobi
 * passes to the tolerance) ranks the blocks, and the tough ones get the
 * module count that costs the fewest token-passes.
 */

/** Block t's exact inverse on a runtime: z [B, N, d] (AF order, the latent after block t) → x [B, N, d] (AF order). */
export type ExactBlockInverse = (t: number, z: Float32Array, batch: number) => Promise<Float32Array>;

/** What calibration measured of one block. */
export interface JacobiBlockMeasure {
  block: number;
  /** Initial Guessing Metric: RMS distance of the exact result from the latent, and from zeros. */
  latentDistance: number;
  zeroDistance: number;
  init: JacobiInit;
  /** Convergence Ranking Metric: plain-Jacobi passes to the tolerance from `init`, mean over the calibration images. */
  iterations: number;
  /** Token-passes per module count tried (tough blocks only): { modules, tokenPasses }. */
  moduleCosts?: { modules: number; tokenPasses: number }[];
}

/** The sidecar file `jacobi-plan.json`: the plan and the measurements that chose it. */
export const JacobiPlanFileSchema = z.strictObject({
  format: z.literal('farmer-jacobi-plan'),
  version: z.literal(1),
  tough: z.array(z.number().int().min(0)),
  modules: z.number().int().min(1),
  init: z.array(z.enum(['latent', 'zeros'])),
  /** How it was measured. */
  calibration: z.strictObject({ images: z.number().int().min(1), skipped: z.number().int().min(0).optional(), tolerance: z.number().min(0), seed: z.number().int().min(0), runtime: z.string() }),
  blocks: z.array(
    z.strictObject({
      block: z.number().int().min(0),
      latentDistance: z.number(),
      zeroDistance: z.number(),
      init: z.enum(['latent', 'zeros']),
      iterations: z.number(),
      moduleCosts: z.array(z.strictObject({ modules: z.number().int().min(1), tokenPasses: z.number() })).optional(),
    }),
  ),
});
/** A parsed `jacobi-plan.json`. */
export type JacobiPlanFile = z.infer<typeof JacobiPlanFileSchema>;

/** Module counts calibration tries on a tough block. */
export const MODULE_CHOICES = [1, 2, 4, 8] as const;

/** RMS over all values of a − b (b absent: of a). */
function rms(a: Float32Array, b?: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - (b ? b[i] : 0)) ** 2;
  return Math.sqrt(s / a.length);
}

/**
 * Picks the tough blocks from the ranking metric: those needing at least
 * twice the median passes, at most two (the paper finds one or two).
 */
export function toughBlocks(iterations: number[]): number[] {
  const sorted = [...iterations].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return iterations
    .map((it, block) => ({ it, block }))
    .filter((b) => b.it >= 2 * median && b.it > 1)
    .sort((a, b) => b.it - a.it)
    .slice(0, 2)
    .map((b) => b.block)
    .sort((a, b) => a - b);
}

/**
 * Measures every block on latents z [B, N, d] (AF order, the final latents)
 * and derives the plan: initial guess by the IGM, tough blocks by the CRM,
 * their module count by the fewest token-passes over {@link MODULE_CHOICES}.
 * Images run one at a time, so the metric is per image, not per batch.
 */
export async function calibrateJacobi(
  exact: ExactBlockInverse,
  pass: JacobiPass,
  zFinal: Float32Array,
  batch: number,
  n: number,
  d: number,
  numBlocks: number,
  tolerance: number,
): Promise<{ plan: JacobiPlan; blocks: JacobiBlockMeasure[] }> {
  const per = n * d;
  const blocks: JacobiBlockMeasure[] = Array.from({ length: numBlocks }, (_, block) => ({ block, latentDistance: 0, zeroDistance: 0, init: 'latent' as JacobiInit, iterations: 0 }));
  // Per image: its latent entering each block (working order), from the exact inverse of the blocks after it.
  const inputs: Float32Array[][] = Array.from({ length: numBlocks }, () => []);
  for (let i = 0; i < batch; i++) {
    let h: Float32Array = zFinal.slice(i * per, (i + 1) * per);
    for (let t = numBlocks - 1; t >= 0; t--) {
      const x = await exact(t, h, 1);
      inputs[t].push(toWorkingOrder(t, h, 1, n, d));
      blocks[t].latentDistance += rms(x, h) / batch;
      blocks[t].zeroDistance += rms(x) / batch;
      h = x;
    }
  }
  for (const m of blocks) {
    m.init = m.latentDistance <= m.zeroDistance ? 'latent' : 'zeros';
    for (let i = 0; i < batch; i++) {
      const r = await jacobiBlockInverse(pass, m.block, inputs[m.block][i], 1, n, d, { modules: 1, init: m.init }, { tolerance });
      m.iterations += r.stats.iterations / batch;
    }
  }
  const tough = toughBlocks(blocks.map((b) => b.iterations));
  let best = 1;
  if (tough.length > 0) {
    const costs = new Map<number, number>();
    for (const modules of MODULE_CHOICES) {
      let cost = 0;
      for (const t of tough) {
        let blockCost = 0;
        for (let i = 0; i < batch; i++) {
          const r = await jacobiBlockInverse(pass, t, inputs[t][i], 1, n, d, { modules, init: blocks[t].init }, { tolerance });
          blockCost += r.stats.tokenPasses / batch;
        }
        (blocks[t].moduleCosts ??= []).push({ modules, tokenPasses: blockCost });
        cost += blockCost;
      }
      costs.set(modules, cost);
    }
    best = [...costs.entries()].sort((a, b) => a[1] - b[1] || a[0] - b[0])[0][0];
  }
  return { plan: { tough, modules: best, init: blocks.map((b) => b.init) }, blocks };
}

/** The sidecar's file name, beside the checkpoint's config.json (not in it: config.json's hash is what export freshness checks). */
export const JACOBI_PLAN_FILE = 'jacobi-plan.json';

/** Validates a parsed `jacobi-plan.json` against a flow of `numBlocks` blocks; FARMER_E_CORRUPT naming `source` and the problem. */
export function parseJacobiPlanFile(raw: unknown, numBlocks: number, source: string): JacobiPlanFile {
  const r = JacobiPlanFileSchema.safeParse(raw);
  const problem = !r.success
    ? r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
    : r.data.init.length !== numBlocks || r.data.tough.some((t) => t >= numBlocks)
      ? `it is for ${r.data.init.length} AF blocks, this model has ${numBlocks}`
      : undefined;
  if (problem !== undefined || !r.success) throw new FarmerError('FARMER_E_CORRUPT', `${source} is not a valid Jacobi plan (${problem}); measure it again with \`farmer eval jacobi --write\``, { file: source });
  return r.data;
}
