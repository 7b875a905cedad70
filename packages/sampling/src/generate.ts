import { farmerDims, selectGmmRows, toArOrderHost, type Decoder, type FarmerRunner, type GmmBatch } from '@farmer/ar-gmm/browser';
import { FarmerError, floatNCHWToU8, patchIndexMap, Rng, type U8Images } from '@farmer/core/browser';
import { PAPER_UNGUIDED_DECOUPLED, sampleDecoupled, sampleDecoupledMany, type DecoupledOptions } from './decoupled.js';
import { guidanceWeight, type GuidanceSchedule } from './guidance-schedule.js';
import { sampleNaiveCfg, type NaiveCfgOptions } from './naive-cfg.js';
import { resamplingCfgInformative, resamplingCfgRedundant, resolveResamplingCfgOptions, type ResamplingCfgOptions, type ResolvedResamplingCfgOptions } from './resampling-cfg.js';
import { checkAtLeastOne, checkCount, checkPositive } from './option-checks.js';
import { decodeRedrawing, type RedrawnImage } from './redraw-undecodable.js';
import { yieldToEventLoop } from './yield-to-event-loop.js';

/** A sampler: decoupled GMM sampling, resampling CFG, or naive CFG (docs/method.md §7.2 decoupled sampling, docs/method.md §7.4 resampling CFG, docs/method.md §7.8 naive CFG). */
export type SamplerName = 'decoupled' | 'resampling-cfg' | 'naive-cfg';

/** Options of {@link generate}: count, labels, seeds, the sampler and its settings, the decoder, batch size, progress and cancellation. */
export interface GenerateOptions {
  /** Images to draw. */
  count: number;
  /** A class per image (or one for all); null/undefined draws unconditionally (null label). */
  labels?: number | ArrayLike<number> | null;
  /** Seed of the request; image i draws from Rng(`${seed}:${i}`). Default 0. */
  seed?: number;
  /** Per-image seeds, overriding `seed` (image i uses imageSeeds[i]). */
  imageSeeds?: (number | string)[];
  /** 'auto' (default): resampling CFG when labels are given and cfg.w > 0, else decoupled. */
  sampler?: SamplerName | 'auto';
  /** Decoupled sampling of the informative head (default the paper's unguided T 1.3, s 0.9). */
  informative?: DecoupledOptions;
  /** Decoupled sampling of the redundant head (default the same as `informative`). */
  redundant?: DecoupledOptions;
  /** Resampling CFG (paper Algorithm 1; defaults: 1.1B-p16 row) and the guidance schedule over tokens. */
  cfg?: ResamplingCfgOptions & { schedule?: GuidanceSchedule['kind'] };
  /** The naive CFG baseline. */
  naive?: NaiveCfgOptions;
  /** AF inverse: 'flow' (exact, KV-cached) or 'student' (distilled, one pass). */
  decoder?: Decoder;
  /** Images per pass (default 16). */
  batchSize?: number;
  /**
   * Fresh draws of an image's latents when the decoder cannot invert them
   * (non-finite; exp(α) overflow in the exact AF inverse), before giving up
   * with FARMER_E_NON_FINITE. Default 3; 0 throws at the first. Reported in
   * the result's `redrawn`.
   */
  redraws?: number;
  /** Called after every AR token and every AF token (or block) with the phase and how far it is. */
  onProgress?: (p: GenerateProgress) => void;
  signal?: AbortSignal;
}

/** Where a {@link generate} call is: an AR token, or an AF block and token, with the images done. */
export type GenerateProgress =
  | { phase: 'ar'; token: number; tokens: number; imagesDone: number; images: number }
  | { phase: 'af'; block: number; token: number; tokens: number; blocksDone: number; blocks: number; imagesDone: number; images: number };

/** The options actually used, as returned with every result. */
export interface ResolvedGenerateOptions {
  count: number;
  labels: number[] | null;
  seed: number;
  sampler: SamplerName;
  informative: Required<DecoupledOptions>;
  redundant: Required<DecoupledOptions>;
  cfg?: ResolvedResamplingCfgOptions & { schedule: GuidanceSchedule['kind'] };
  naive?: Required<NaiveCfgOptions>;
  decoder: Decoder;
  batchSize: number;
  redraws: number;
}

/** What {@link generate} returns: the images `[count, H, W, C]` u8, their labels, the options as used, timings, the runtime and any redrawn images. */
export interface GenerateResult {
  /** [count] images, HWC u8. */
  images: U8Images;
  /** The label of each image (-1: unconditional). */
  labels: Int32Array;
  parameters: ResolvedGenerateOptions;
  timings: { arSeconds: number; afSeconds: number; totalSeconds: number };
  runtime: string;
  /** Images whose first latents the decoder could not invert and that were drawn again (see `redraws`); usually empty. */
  redrawn: RedrawnImage[];
}

/** Fresh draws per undecodable image (GenerateOptions.redraws). */
export const DEFAULT_REDRAWS = 3;

function bad(field: string, message: string): never {
  throw new FarmerError('FARMER_E_BAD_INPUT', `generate: ${field} ${message}`, { field });
}

/** Fills defaults and validates every option against the model; errors name the field and what is allowed. */
export function resolveGenerateOptions(runner: FarmerRunner, o: GenerateOptions): ResolvedGenerateOptions {
  const numClasses = runner.config.numClasses;
  const count = checkCount('generate', 'count', o.count, 1);
  let labels: number[] | null = null;
  if (o.labels !== null && o.labels !== undefined) {
    const raw = typeof o.labels === 'number' ? Array(count).fill(o.labels) : Array.from(o.labels);
    if (raw.length !== count) bad('labels', `must have one entry per image (${count}), got ${raw.length}`);
    if (numClasses === 0 && raw.some((y) => y !== -1)) bad('labels', 'must be omitted: this model is unconditional');
    raw.forEach((y, i) => {
      if (!Number.isInteger(y) || y < -1 || y >= numClasses) bad(`labels[${i}]`, `must be an integer class in [0, ${numClasses - 1}] (or -1 for none), got ${y}`);
    });
    labels = raw;
  }
  if (o.imageSeeds && o.imageSeeds.length !== count) bad('imageSeeds', `must have one entry per image (${count}), got ${o.imageSeeds.length}`);
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) bad('seed', `must be a non-negative integer, got ${seed}`);
  const cfg = { ...resolveResamplingCfgOptions(o.cfg), schedule: o.cfg?.schedule ?? 'constant' };
  if (cfg.schedule !== 'constant' && cfg.schedule !== 'linear') bad('cfg.schedule', `must be 'constant' or 'linear', got ${String(cfg.schedule)}`);
  const guided = labels !== null && labels.some((y) => y >= 0);
  let sampler = o.sampler ?? 'auto';
  if (sampler === 'auto') sampler = guided && cfg.w > 0 ? 'resampling-cfg' : 'decoupled';
  if (!['decoupled', 'resampling-cfg', 'naive-cfg'].includes(sampler)) bad('sampler', `must be auto, decoupled, resampling-cfg or naive-cfg, got ${String(sampler)}`);
  if (sampler !== 'decoupled' && !guided) bad('sampler', `${sampler} needs class labels (guidance contrasts a class with the null label)`);
  const dec = (d: DecoupledOptions | undefined, field: string, fallback: Required<DecoupledOptions>): Required<DecoupledOptions> => ({
    temperature: checkPositive('generate', `${field}.temperature`, d?.temperature ?? fallback.temperature),
    scale: checkPositive('generate', `${field}.scale`, d?.scale ?? fallback.scale),
  });
  const informative = dec(o.informative, 'informative', PAPER_UNGUIDED_DECOUPLED);
  const redundant = dec(o.redundant, 'redundant', informative);
  const naive =
    sampler === 'naive-cfg'
      ? {
          w: o.naive?.w ?? cfg.w,
          temperature: checkPositive('generate', 'naive.temperature', o.naive?.temperature ?? 1),
          scale: checkPositive('generate', 'naive.scale', o.naive?.scale ?? 1),
          maxStdRatio: checkAtLeastOne('generate', 'naive.maxStdRatio', o.naive?.maxStdRatio ?? 2),
        }
      : undefined;
  const decoder = o.decoder ?? 'flow';
  if (!runner.decoders.includes(decoder)) bad('decoder', `'${decoder}' is not available for this model (available: ${runner.decoders.join(', ')})`);
  const batchSize = checkCount('generate', 'batchSize', o.batchSize ?? 16, 1);
  const redraws = checkCount('generate', 'redraws', o.redraws ?? DEFAULT_REDRAWS, 0);
  return { count, labels, seed, sampler, informative, redundant, cfg: sampler === 'resampling-cfg' ? cfg : undefined, naive, decoder, batchSize, redraws };
}

/** Samples one vector per image from its conditional row, each with its own generator (so a batch equals one-at-a-time). */
function perRow(g: GmmBatch, rngs: Rng[], draw: (row: GmmBatch, rng: Rng) => Float32Array): Float32Array[] {
  return rngs.map((rng, b) => draw(condRow(g, b), rng));
}

/**
 * Draws `count` images: the AR streams (one, or a class and a null stream for
 * CFG, each with its own KV cache) sample the informative tokens and then the N
 * redundant vectors, the latents are reassembled [z^I, z^R] per token, the
 * final permute is undone, the AF (or its student) decodes, and the result is
 * clamped and quantised (docs/method.md §7.1 generation pipeline). The same
 * seed and options give identical images on the same backend. An image whose
 * latents the decoder cannot invert is drawn again from its own seed
 * (`redraws`, reported in `redrawn`); past that, throws FARMER_E_NON_FINITE
 * with the position of the non-finite value. FARMER_E_ABORTED when `signal`
 * fires.
 */
export async function generate(runner: FarmerRunner, options: GenerateOptions): Promise<GenerateResult> {
  const p = resolveGenerateOptions(runner, options);
  const c = runner.config;
  const dims = farmerDims(c);
  const { numTokens: N, tokenDim: d, dI, dR } = dims;
  const geo = { channels: c.flow.inChannels, height: c.flow.imageSize, width: c.flow.imageSize, patchSize: c.flow.patchSize };
  const map = patchIndexMap(geo);
  const perImage = geo.channels * geo.height * geo.width;
  const out = new Uint8Array(p.count * perImage);
  const labelsOut = Int32Array.from({ length: p.count }, (_, i) => p.labels?.[i] ?? -1);
  const timings = { arSeconds: 0, afSeconds: 0, totalSeconds: 0 };
  const redrawn: RedrawnImage[] = [];
  const t0 = performance.now();
  for (let start = 0; start < p.count; start += p.batchSize) {
    const b = Math.min(p.batchSize, p.count - start);
    const seedOf = (i: number) => options.imageSeeds?.[start + i] ?? `${p.seed}:${start + i}`;
    const rngs = Array.from({ length: b }, (_, i) => new Rng(seedOf(i)));
    const labels = labelsOut.subarray(start, start + b);
    const ta = performance.now();
    const z = await sampleLatents(runner, p, labels, rngs, { N, d, dI, dR }, (token) =>
      options.onProgress?.({ phase: 'ar', token, tokens: N, imagesDone: start, images: p.count }),
    options.signal);
    const tb = performance.now();
    timings.arSeconds += (tb - ta) / 1000;
    const decoded = await decodeRedrawing(
      (zAf) =>
        runner.decode(zAf, b, {
          decoder: p.decoder,
          signal: options.signal,
          onProgress: (e) => options.onProgress?.({ phase: 'af', ...e, imagesDone: start, images: p.count }),
        }),
      // The k-th fresh draw of image i comes from its own seed, so it does not depend on the batch.
      async (i, k) => toArOrderHost(c, await sampleLatents(runner, p, labels.subarray(i, i + 1), [new Rng(`${seedOf(i)}#redraw${k}`)], { N, d, dI, dR }, () => undefined, options.signal), 1, N, d),
      toArOrderHost(c, z, b, N, d),
      N * d,
      p.redraws,
      start,
    );
    const tokens = decoded.tokens;
    redrawn.push(...decoded.redrawn);
    timings.afSeconds += (performance.now() - tb) / 1000;
    // unpatchify on the host (the runner may not be tfjs), then clamp and quantise.
    const nchw = new Float32Array(b * perImage);
    for (let i = 0; i < b; i++) for (let j = 0; j < map.length; j++) nchw[i * perImage + map[j]] = tokens[i * map.length + j];
    let u8: U8Images;
    try {
      u8 = floatNCHWToU8(nchw, [b, geo.channels, geo.height, geo.width]);
    } catch (e) {
      if (e instanceof FarmerError && e.code === 'FARMER_E_NON_FINITE') {
        const image = start + (e.details.image as number);
        throw new FarmerError('FARMER_E_NON_FINITE', `generated image ${image} ${e.message.replace(/^image \d+ /, '')}`, { ...e.details, image });
      }
      throw e;
    }
    out.set(u8.data, start * perImage);
  }
  timings.totalSeconds = (performance.now() - t0) / 1000;
  return {
    images: { data: out, count: p.count, height: geo.height, width: geo.width, channels: geo.channels },
    labels: labelsOut,
    parameters: p,
    timings,
    runtime: runner.runtime,
    redrawn,
  };
}

/** The AR phase for one batch: latents [B, N, d] in AR order. */
async function sampleLatents(
  runner: FarmerRunner,
  p: ResolvedGenerateOptions,
  labels: Int32Array,
  rngs: Rng[],
  dims: { N: number; d: number; dI: number; dR: number },
  progress: (token: number) => void,
  signal?: AbortSignal,
): Promise<Float32Array> {
  const { N, d, dI, dR } = dims;
  const B = labels.length;
  const z = new Float32Array(B * N * d);
  const guided = p.sampler !== 'decoupled';
  // CFG's two streams (class and null label) always receive the same token, so they run
  // as one stream of 2B rows: rows [0, B) conditional, [B, 2B) null. Half the calls.
  const streamLabels = guided ? Int32Array.from([...labels, ...new Array(B).fill(-1)]) : labels;
  const stream = runner.openArStream(streamLabels);
  try {
    let g = (await stream.first()).gmm;
    for (let i = 0; i < N; i++) {
      if (signal?.aborted) throw new FarmerError('FARMER_E_ABORTED', 'generation was cancelled');
      const rows = drawInformative(p, g, B, rngs, i, N);
      const zI = new Float32Array(streamLabels.length * dI);
      rows.forEach((r, b) => {
        zI.set(r, b * dI);
        if (guided) zI.set(r, (b + B) * dI);
        z.set(r, (b * N + i) * d);
      });
      // The last token's feed yields the redundant GMM, needed only with d_R > 0.
      if (i < N - 1 || dR > 0) g = (await stream.next(zI)).gmm;
      progress(i + 1);
      if (signal) await yieldToEventLoop();
    }
    if (dR > 0) {
      const rows = drawRedundant(p, g, B, rngs, N);
      rows.forEach((r, b) => {
        for (let i = 0; i < N; i++) z.set(r.subarray(i * dR, (i + 1) * dR), (b * N + i) * d + dI);
      });
    }
    return z;
  } finally {
    stream.dispose();
  }
}

/** Row b of the stream's GMM batch is image b's conditional GMM; with CFG, row b + B is its null-label GMM. */
const condRow = (g: GmmBatch, b: number): GmmBatch => selectGmmRows(g, [b]);
const nullRow = (g: GmmBatch, b: number, B: number): GmmBatch => selectGmmRows(g, [b + B]);

function drawInformative(p: ResolvedGenerateOptions, g: GmmBatch, B: number, rngs: Rng[], i: number, n: number): Float32Array[] {
  if (p.sampler === 'decoupled') return perRow(g, rngs, (row, rng) => sampleDecoupled(row, rng, p.informative));
  if (p.sampler === 'naive-cfg') return rngs.map((rng, b) => sampleNaiveCfg(condRow(g, b), nullRow(g, b, B), rng, p.naive).z);
  const cfg = p.cfg!;
  const w = guidanceWeight({ kind: cfg.schedule, w: cfg.w }, i, n);
  return rngs.map((rng, b) => resamplingCfgInformative(condRow(g, b), nullRow(g, b, B), rng, { ...cfg, w }).z);
}

function drawRedundant(p: ResolvedGenerateOptions, g: GmmBatch, B: number, rngs: Rng[], n: number): Float32Array[] {
  // The naive baseline guides the informative tokens only; its redundant vectors are drawn conditionally.
  if (p.sampler !== 'resampling-cfg') return perRow(g, rngs, (row, rng) => sampleDecoupledMany(row, n, rng, p.redundant));
  const cfg = p.cfg!;
  const w = guidanceWeight({ kind: cfg.schedule, w: cfg.w }, n - 1, n);
  return rngs.map((rng, b) => resamplingCfgRedundant(condRow(g, b), nullRow(g, b, B), n, rng, { ...cfg, w }).z);
}
