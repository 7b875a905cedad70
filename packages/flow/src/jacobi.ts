import { FarmerError } from '@farmer/core/browser';
import { isFlipBlock } from './permutation.js';

/*
 * GS-Jacobi decoding of the AF (docs/method.md §3.13 Jacobi decoding). Host
 * arrays only: the runtime supplies one causal full-sequence pass of a block
 * (tfjs or an onnxruntime graph); the iteration, its stopping rule and the
 * Gauss-Seidel split are this one implementation for every runtime.
 */

/**
 * The fixed-point map of block t on a working-order prefix of T tokens:
 * x [B, T, d], z [B, T, d] → F(x) [B, T, d] with F(x)_0 = z_0 and
 * F(x)_i = z_i·exp(α_i(x_{<i})) + μ_i(x_{<i}) (docs/method.md §3.3 block inverse).
 */
export type JacobiPass = (t: number, x: Float32Array, z: Float32Array, batch: number, tokens: number) => Promise<Float32Array>;

/** Where block t's iteration starts: the block's own latent z (x⁰ = z), or zeros (token 0 is z_0 either way). */
export type JacobiInit = 'latent' | 'zeros';

/** How one block is solved: its Gauss-Seidel modules (1: plain Jacobi) and its initial guess. */
export interface JacobiBlockPlan {
  modules: number;
  init: JacobiInit;
}

/** The iteration's settings: the stopping tolerance, the cap per module, and the module count of the split blocks. */
export interface JacobiSettings {
  /** Stop a module when max |x^{k+1} − x^k| over its tokens (all images, all dims) ≤ tolerance. */
  tolerance: number;
  /** Most passes per module; absent: the module's length, which is exact by construction. */
  maxIterations?: number;
}

/** The defaults: a tolerance that meets the 1-grey-level bar on the built-ins (docs/method.md §3.13 Jacobi decoding), no cap below the exact one. */
export const JACOBI_DEFAULTS = { tolerance: 1e-4 } as const;

/** What a block's Jacobi solve did: passes run, tokens they covered (cost), and per module whether the tolerance or the cap stopped it. */
export interface JacobiBlockStats {
  block: number;
  /** Passes (one causal full-prefix network evaluation each). */
  iterations: number;
  /** Σ over passes of the prefix length: the work in token-passes (the sequential inverse does N − 1 single-token steps). */
  tokenPasses: number;
  /** Last max |Δ| of each module. */
  residuals: number[];
  /** Per module: true when the cap (not the tolerance) stopped it. */
  capped: boolean[];
}

/** The token ranges [start, end) of `m` Gauss-Seidel modules over N tokens, as equal as integers allow. */
export function moduleBounds(n: number, m: number): [number, number][] {
  const k = Math.max(1, Math.min(m, n));
  return Array.from({ length: k }, (_, i) => [Math.round((i * n) / k), Math.round(((i + 1) * n) / k)] as [number, number]);
}

/** The exact iteration count of a module [s, e): after k passes tokens s … s+k−1 are exact (token 0 is known from the start). */
export function exactIterations(s: number, e: number): number {
  return e - Math.max(s, 1);
}

/** [B, N, d] rows reordered between AF order and block t's working order (an involution). */
export function toWorkingOrder(t: number, x: Float32Array, batch: number, n: number, d: number): Float32Array {
  if (!isFlipBlock(t)) return x;
  const out = new Float32Array(x.length);
  for (let b = 0; b < batch; b++) for (let i = 0; i < n; i++) out.set(x.subarray((b * n + i) * d, (b * n + i + 1) * d), (b * n + n - 1 - i) * d);
  return out;
}

/** Rows [0, T) of every image of [B, N, d]. */
function prefix(x: Float32Array, batch: number, n: number, d: number, tokens: number): Float32Array {
  if (tokens === n) return x.slice();
  const out = new Float32Array(batch * tokens * d);
  for (let b = 0; b < batch; b++) out.set(x.subarray(b * n * d, (b * n + tokens) * d), b * tokens * d);
  return out;
}

/**
 * Solves block t's inverse by Gauss-Seidel-Jacobi iteration (docs/method.md §3.13 Jacobi decoding):
 * z [B, N, d] in the block's working order → x [B, N, d] (working order).
 * Module [s, e) iterates x ← F(x) on the prefix [0, e), keeping tokens
 * before s fixed, until the largest change over its tokens is ≤ tolerance or
 * the cap. With the default cap every module is exact by construction.
 */
export async function jacobiBlockInverse(
  pass: JacobiPass,
  t: number,
  zw: Float32Array,
  batch: number,
  n: number,
  d: number,
  plan: JacobiBlockPlan,
  settings: JacobiSettings,
  signal?: AbortSignal,
): Promise<{ x: Float32Array; stats: JacobiBlockStats }> {
  const x = plan.init === 'latent' ? zw.slice() : new Float32Array(zw.length);
  for (let b = 0; b < batch; b++) x.set(zw.subarray(b * n * d, b * n * d + d), b * n * d);
  const stats: JacobiBlockStats = { block: t, iterations: 0, tokenPasses: 0, residuals: [], capped: [] };
  for (const [s, e] of moduleBounds(n, plan.modules)) {
    const cap = Math.min(settings.maxIterations ?? Infinity, exactIterations(s, e));
    const zp = prefix(zw, batch, n, d, e);
    let residual = 0;
    let k = 0;
    while (k < cap) {
      if (signal?.aborted) throw new FarmerError('FARMER_E_ABORTED', 'flow reverse was cancelled');
      const next = await pass(t, prefix(x, batch, n, d, e), zp, batch, e);
      k++;
      residual = 0;
      for (let b = 0; b < batch; b++) {
        for (let j = s * d; j < e * d; j++) {
          const v = next[b * e * d + j];
          const r = Math.abs(v - x[b * n * d + j]);
          // NaN must not read as converged: a non-finite value keeps the module iterating to its cap.
          if (!(r <= residual)) residual = Number.isNaN(r) ? Infinity : r;
          x[b * n * d + j] = v;
        }
      }
      if (residual <= settings.tolerance) break;
    }
    stats.iterations += k;
    stats.tokenPasses += k * e;
    stats.residuals.push(residual);
    stats.capped.push(residual > settings.tolerance);
  }
  return { x, stats };
}

/** Checks Jacobi settings at the edge: FARMER_E_BAD_INPUT naming the field. */
export function checkJacobiSettings(s: JacobiSettings): void {
  if (!(s.tolerance >= 0) || !Number.isFinite(s.tolerance)) throw new FarmerError('FARMER_E_BAD_INPUT', `jacobi tolerance must be a finite number >= 0, got ${s.tolerance}`, { field: 'jacobi.tolerance' });
  if (s.maxIterations !== undefined && !(Number.isInteger(s.maxIterations) && s.maxIterations >= 1)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `jacobi maxIterations must be an integer >= 1, got ${s.maxIterations}`, { field: 'jacobi.maxIterations' });
  }
}

/**
 * The sidecar plan of a model (`jacobi-plan.json` beside its checkpoint; docs/method.md §3.13 Jacobi decoding):
 * each block's initial guess, the blocks split into Gauss-Seidel modules and
 * how many, and the measurements that chose them.
 */
export interface JacobiPlan {
  /** Blocks (AF index) solved as `modules` Gauss-Seidel modules; every other block is plain Jacobi. */
  tough: number[];
  /** Module count of the tough blocks. */
  modules: number;
  /** Initial guess per block, by AF index. */
  init: JacobiInit[];
}

/** The plan without measurements: plain Jacobi from the latent for every block. */
export function defaultJacobiPlan(numBlocks: number): JacobiPlan {
  return { tough: [], modules: 1, init: Array.from({ length: numBlocks }, () => 'latent') };
}

/** Block t's modules and initial guess under `plan`, with the module count of the tough blocks overridden by `modules`. */
export function blockPlan(plan: JacobiPlan, t: number, modules?: number): JacobiBlockPlan {
  return { modules: plan.tough.includes(t) ? (modules ?? plan.modules) : 1, init: plan.init[t] ?? 'latent' };
}

/** Options of {@link jacobiDecode}: the settings, the plan, the tough blocks' module count, progress and cancellation. */
export interface JacobiDecodeOptions extends JacobiSettings {
  plan?: JacobiPlan;
  /** Module count of the plan's tough blocks (default: the plan's). */
  modules?: number;
  signal?: AbortSignal;
  /** Called after each block with what its solve did. */
  onBlock?: (stats: JacobiBlockStats) => void;
}

/**
 * The AF inverse by GS-Jacobi iteration over blocks n−1 … 0 (docs/method.md §3.13 Jacobi decoding):
 * z [B, N, d] (AF order) → patch tokens [B, N, d], with each block's stats.
 */
export async function jacobiDecode(pass: JacobiPass, z: Float32Array, batch: number, n: number, d: number, numBlocks: number, options: JacobiDecodeOptions): Promise<{ x: Float32Array; stats: JacobiBlockStats[] }> {
  checkJacobiSettings(options);
  const plan = options.plan ?? defaultJacobiPlan(numBlocks);
  const stats: JacobiBlockStats[] = [];
  let h = z;
  for (let t = numBlocks - 1; t >= 0; t--) {
    const r = await jacobiBlockInverse(pass, t, toWorkingOrder(t, h, batch, n, d), batch, n, d, blockPlan(plan, t, options.modules), options, options.signal);
    h = toWorkingOrder(t, r.x, batch, n, d);
    stats.push(r.stats);
    options.onBlock?.(r.stats);
  }
  return { x: h === z ? z.slice() : h, stats };
}
