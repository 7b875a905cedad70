import { farmerDims, toArOrderHost, type FarmerRunner } from '@farmer/ar-gmm/browser';
import { FarmerError, floatNCHWToU8, patchIndexMap, Rng, type U8Images } from '@farmer/core/browser';
import { decodeRedrawing, type RedrawnImage } from './redraw-undecodable.js';
import { resolveRequest, type GenerateOptions, type ResolvedGenerateOptions } from './resolve-generate-options.js';
import { sampleLatents, type LatentDims } from './sample-latents.js';
import { seedOf } from './seed-of.js';

export { DEFAULT_REDRAWS } from './sampler-defaults.js';
export type { SamplerName } from './generate-options-schema.js';

/** What {@link generate} returns: the images `[count, H, W, C]` u8, their labels, the options as used, timings, the runtime and any redrawn images. */
export interface GenerateResult {
  /** [count] images, HWC u8. */
  images: U8Images;
  /** The label of each image (-1: unconditional). */
  labels: Int32Array;
  parameters: ResolvedGenerateOptions;
  timings: GenerateTimings;
  runtime: string;
  /** Images whose first latents the decoder could not invert and that were drawn again (see `redraws`); usually empty. */
  redrawn: RedrawnImage[];
}

/** One batch of a generation: images start..start+B−1, their labels and seeds. */
interface Batch {
  start: number;
  labels: Int32Array;
  seeds: (number | string)[];
}

/** The geometry of the model's images and tokens. */
function geometry(runner: FarmerRunner): { dims: LatentDims; map: Int32Array | number[]; shape: [number, number, number] } {
  const c = runner.config;
  const { numTokens: N, tokenDim: d, dI, dR } = farmerDims(c);
  const geo = { channels: c.flow.inChannels, height: c.flow.imageSize, width: c.flow.imageSize, patchSize: c.flow.patchSize };
  return { dims: { N, d, dI, dR }, map: patchIndexMap(geo), shape: [geo.channels, geo.height, geo.width] };
}

/**
 * Where the time went; with the 'jacobi' decoder also its passes per block
 * (AF index), the mean over the batches (docs/method.md §3.13 Jacobi decoding).
 */
export interface GenerateTimings {
  arSeconds: number;
  afSeconds: number;
  totalSeconds: number;
  jacobiIterations?: number[];
}

/** The latents of one batch decoded, undecodable images drawn again from their own seed (`redraws`), clamped and quantised. */
async function drawBatch(runner: FarmerRunner, p: ResolvedGenerateOptions, options: GenerateOptions, batch: Batch, timings: GenerateResult['timings']): Promise<{ u8: U8Images; redrawn: RedrawnImage[] }> {
  const { dims, map, shape } = geometry(runner);
  const { N, d } = dims;
  const { start, labels, seeds } = batch;
  const b = labels.length;
  const ta = performance.now();
  const progress = (token: number) => options.onProgress?.({ phase: 'ar', token, tokens: N, imagesDone: start, images: p.count });
  const z = await sampleLatents({ runner, options: p, labels, rngs: seeds.map((s) => new Rng(s)), progress, signal: options.signal }, dims);
  const tb = performance.now();
  timings.arSeconds += (tb - ta) / 1000;
  const decoded = await decodeRedrawing(
    (zAf) =>
      runner.decode(zAf, b, {
        decoder: p.decoder,
        jacobi: p.jacobi,
        onJacobiBlock: (st) => {
          const sums = (timings.jacobiIterations ??= new Array<number>(runner.config.flow.numBlocks).fill(0));
          sums[st.block] += st.iterations;
        },
        signal: options.signal,
        onProgress: (e) => options.onProgress?.({ phase: 'af', ...e, imagesDone: start, images: p.count }),
      }),
    // The k-th fresh draw of image i comes from its own seed, so it does not depend on the batch.
    async (i, k) => {
      const again = { runner, options: p, labels: labels.subarray(i, i + 1), rngs: [new Rng(`${seeds[i]}#redraw${k}`)], progress: () => undefined, signal: options.signal };
      return toArOrderHost(runner.config, await sampleLatents(again, dims), 1, N, d);
    },
    toArOrderHost(runner.config, z, b, N, d),
    N * d,
    p.redraws,
    start,
  );
  timings.afSeconds += (performance.now() - tb) / 1000;
  // unpatchify on the host (the runner may not be tfjs), then clamp and quantise.
  const perImage = shape[0] * shape[1] * shape[2];
  const nchw = new Float32Array(b * perImage);
  for (let i = 0; i < b; i++) for (let j = 0; j < map.length; j++) nchw[i * perImage + map[j]] = decoded.tokens[i * map.length + j];
  try {
    return { u8: floatNCHWToU8(nchw, [b, ...shape]), redrawn: decoded.redrawn };
  } catch (e) {
    if (e instanceof FarmerError && e.code === 'FARMER_E_NON_FINITE') {
      const image = start + (e.details.image as number);
      throw new FarmerError('FARMER_E_NON_FINITE', `generated image ${image} ${e.message.replace(/^image \d+ /, '')}`, { ...e.details, image });
    }
    throw e;
  }
}

/**
 * Draws `count` images: the AR streams (one, or a class and a null stream for
 * CFG, each with its own KV cache) sample the informative tokens and then the N
 * redundant vectors, the latents are reassembled [z^I, z^R] per token, the
 * final permute is undone, the AF (or its student) decodes, and the result is
 * clamped and quantised (docs/method.md §7.1 generation pipeline). The
 * options are checked once, here; image i draws from its own generator
 * seeded `imageSeeds[i]`, else {@link seedOf}(seed, i), so the same seed and
 * options give identical images on the same backend whatever the batch. An
 * image whose latents the decoder cannot invert is drawn again from its own
 * seed (`redraws`, reported in `redrawn`); past that, throws
 * FARMER_E_NON_FINITE with the position of the non-finite value.
 * FARMER_E_ABORTED when `signal` fires.
 */
export async function generate(runner: FarmerRunner, options: GenerateOptions): Promise<GenerateResult> {
  const { options: p, imageSeeds } = resolveRequest(runner, options);
  const [channels, height, width] = geometry(runner).shape;
  const perImage = channels * height * width;
  const out = new Uint8Array(p.count * perImage);
  const labelsOut = Int32Array.from({ length: p.count }, (_, i) => p.labels?.[i] ?? -1);
  const timings: GenerateTimings = { arSeconds: 0, afSeconds: 0, totalSeconds: 0 };
  let batches = 0;
  const redrawn: RedrawnImage[] = [];
  const t0 = performance.now();
  for (let start = 0; start < p.count; start += p.batchSize) {
    const b = Math.min(p.batchSize, p.count - start);
    const seeds = Array.from({ length: b }, (_, i) => imageSeeds?.[start + i] ?? seedOf(p.seed, start + i));
    const r = await drawBatch(runner, p, options, { start, labels: labelsOut.subarray(start, start + b), seeds }, timings);
    batches++;
    redrawn.push(...r.redrawn);
    out.set(r.u8.data, start * perImage);
  }
  timings.totalSeconds = (performance.now() - t0) / 1000;
  // Passes per block, per batch on average (a redraw's decode adds its passes to its batch's).
  if (timings.jacobiIterations) timings.jacobiIterations = timings.jacobiIterations.map((v) => v / batches);
  return {
    images: { data: out, count: p.count, height, width, channels },
    labels: labelsOut,
    parameters: p,
    timings,
    runtime: runner.runtime,
    redrawn,
  };
}
