import type { FarmerRunner, GmmBatch } from '@farmer/ar-gmm/browser';
import { FarmerError, type Rng } from '@farmer/core/browser';
import { decoupledRows } from './decoupled.js';
import { guidanceWeights } from './guidance-schedule.js';
import { naiveCfgRows } from './naive-cfg.js';
import { checkGmm } from './option-checks.js';
import { resampleRows, type CfgRows } from './resampling-cfg.js';
import type { ResolvedGenerateOptions } from './resolve-generate-options.js';
import { yieldToEventLoop } from './yield-to-event-loop.js';

/** What the AR phase of one batch needs: the runner, the resolved options, each image's label and generator, and where to report. */
export interface LatentsRequest {
  runner: FarmerRunner;
  options: ResolvedGenerateOptions;
  /** [B] the label of each image (−1: the null label). */
  labels: Int32Array;
  /** [B] each image's own generator: image b draws what it draws alone. */
  rngs: readonly Rng[];
  /** Called after each AR token with the tokens done. */
  progress: (token: number) => void;
  signal?: AbortSignal;
}

/** The token geometry: N tokens of d = dI + dR. */
export interface LatentDims {
  N: number;
  d: number;
  dI: number;
  dR: number;
}

/** One step's mixtures of the whole batch, and where each image's null row is (CFG; docs/method.md §7.9 CFG streams). */
interface Step {
  g: GmmBatch;
  rows: CfgRows;
}

/**
 * The AR phase for one batch (docs/method.md §7.1 generation pipeline): the
 * informative token of every image at each of the N steps, then the N
 * redundant vectors, each drawn by the sampler for the whole batch, image b
 * from `rngs[b]`. With CFG the class and null streams run as one stream of
 * 2B rows, rows [0, B) conditional and [B, 2B) null: they always receive
 * the same token, so half the calls.
 *
 * @returns latents [B, N, d] in AR order
 */
export async function sampleLatents(req: LatentsRequest, dims: LatentDims): Promise<Float32Array> {
  const { runner, options: p, labels, rngs, signal } = req;
  const { N, d, dI, dR } = dims;
  const B = labels.length;
  const z = new Float32Array(B * N * d);
  const guided = p.sampler !== 'decoupled';
  const streamLabels = guided ? Int32Array.from([...labels, ...new Array<number>(B).fill(-1)]) : labels;
  // The guidance weight of every token, once per batch (docs/method.md §7.7 guidance schedule).
  const weights = p.cfg ? guidanceWeights({ kind: p.cfg.schedule, w: p.cfg.w }, N) : undefined;
  const stream = runner.openArStream(streamLabels);
  const step = (g: GmmBatch): Step => {
    checkGmm('generate', 'gmm', g);
    if (g.batch !== streamLabels.length) throw new FarmerError('FARMER_E_SHAPE', `generate: the AR stream gave ${g.batch} rows, expected ${streamLabels.length}`, { field: 'gmm' });
    return { g, rows: { cond: g, uncond: g, uncondFirst: B } };
  };
  try {
    let s = step((await stream.first()).gmm);
    for (let i = 0; i < N; i++) {
      if (signal?.aborted) throw new FarmerError('FARMER_E_ABORTED', 'generation was cancelled');
      const zI = drawInformative(p, s, rngs, weights?.[i]);
      const fed = new Float32Array(streamLabels.length * dI);
      fed.set(zI);
      if (guided) fed.set(zI, B * dI);
      for (let b = 0; b < B; b++) z.set(zI.subarray(b * dI, (b + 1) * dI), (b * N + i) * d);
      // The last token's feed yields the redundant GMM, needed only with d_R > 0.
      if (i < N - 1 || dR > 0) s = step((await stream.next(fed)).gmm);
      req.progress(i + 1);
      if (signal) await yieldToEventLoop();
    }
    if (dR > 0) {
      const zR = drawRedundant(p, s, rngs, N, weights?.[N - 1]);
      for (let b = 0; b < B; b++) for (let i = 0; i < N; i++) z.set(zR.subarray((b * N + i) * dR, (b * N + i + 1) * dR), (b * N + i) * d + dI);
    }
    return z;
  } finally {
    stream.dispose();
  }
}

/** The informative token of every image [B, dI], by the resolved sampler; `w` is this token's guidance weight. */
function drawInformative(p: ResolvedGenerateOptions, s: Step, rngs: readonly Rng[], w: number | undefined): Float32Array {
  if (p.sampler === 'decoupled') return decoupledRows(s.g, 1, rngs, p.informative).z;
  if (p.sampler === 'naive-cfg') return naiveCfgRows(s.rows, p.naive!, rngs).z;
  const cfg = p.cfg!;
  return resampleRows(s.rows, { nc: cfg.sc, nu: cfg.su, count: 1 }, { ...cfg, w: w! }, rngs).z;
}

/** The N redundant vectors of every image [B, N, dR]: guided by resampling CFG, else conditional draws (the naive baseline guides the informative tokens only). */
function drawRedundant(p: ResolvedGenerateOptions, s: Step, rngs: readonly Rng[], n: number, w: number | undefined): Float32Array {
  if (p.sampler !== 'resampling-cfg') return decoupledRows(s.g, n, rngs, p.redundant).z;
  const cfg = p.cfg!;
  return resampleRows(s.rows, { nc: cfg.poolC, nu: cfg.poolU, count: n }, { ...cfg, w: w! }, rngs).z;
}
