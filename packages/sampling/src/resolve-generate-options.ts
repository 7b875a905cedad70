import type { Decoder, FarmerRunner, JacobiDecodeSettings } from '@farmer/ar-gmm/browser';
import { FarmerError } from '@farmer/core/browser';
import { resolveDecoder } from './decoder-choice.js';
import type { ResolvedDecoupledOptions } from './decoupled.js';
import { GENERATE_OPTIONS_SCHEMA, type GenerateOptionsInput, type SamplerName } from './generate-options-schema.js';
import type { GuidanceSchedule } from './guidance-schedule.js';
import { imageCount } from './image-count.js';
import type { ResolvedNaiveCfgOptions } from './naive-cfg.js';
import { parseOptions } from './parse-options.js';
import type { ResolvedResamplingCfgOptions } from './resampling-cfg.js';

/** Where {@link generate} is: an AR token, or an AF block and token, with the images done. */
export type GenerateProgress =
  | { phase: 'ar'; token: number; tokens: number; imagesDone: number; images: number }
  | { phase: 'af'; block: number; token: number; tokens: number; blocksDone: number; blocks: number; imagesDone: number; images: number };

/**
 * Options of {@link generate}: the generate-options schema's
 * ({@link GENERATE_OPTIONS_SCHEMA}: count, labels, seed or per-image seeds,
 * the sampler and its settings, the decoder, batch size and redraws, each
 * with its bounds, default and description there), plus progress and
 * cancellation.
 */
export interface GenerateOptions extends Omit<GenerateOptionsInput, 'labels'> {
  /** A class per image (or one for every image; −1: the null label); null or absent draws unconditionally. Typed arrays are taken too. */
  labels?: number | ArrayLike<number> | null;
  /** Called after every AR token and every AF token (or block) with the phase and how far it is. */
  onProgress?: (p: GenerateProgress) => void;
  /** Stops the generation with FARMER_E_ABORTED. */
  signal?: AbortSignal;
}

/** The options actually used, as returned with every result: every default filled in, 'auto' resolved, the settings of the sampler used. */
export interface ResolvedGenerateOptions {
  count: number;
  labels: number[] | null;
  seed: number;
  sampler: SamplerName;
  informative: ResolvedDecoupledOptions;
  redundant: ResolvedDecoupledOptions;
  cfg?: ResolvedResamplingCfgOptions & { schedule: GuidanceSchedule['kind'] };
  naive?: ResolvedNaiveCfgOptions;
  /** The decoder used ('auto' resolved). */
  decoder: Decoder;
  /** The Jacobi decoder's settings, when it is the decoder. */
  jacobi?: JacobiDecodeSettings & { tolerance: number };
  batchSize: number;
  redraws: number;
}

/** A request resolved: its options, and its per-image seeds when it gave them. */
export interface ResolvedRequest {
  options: ResolvedGenerateOptions;
  imageSeeds?: (number | string)[];
}

function bad(field: string, message: string): never {
  throw new FarmerError('FARMER_E_BAD_INPUT', `generate: ${field} ${message}`, { field });
}

/** Checks the labels against the model: one per image, each a class of it (or −1). */
function checkLabels(labels: number | number[] | null | undefined, count: number, numClasses: number): number[] | null {
  if (labels === null || labels === undefined) return null;
  const list = typeof labels === 'number' ? Array<number>(count).fill(labels) : labels;
  if (list.length !== count) bad('labels', `must have one entry per image (${count}), got ${list.length}`);
  if (numClasses === 0 && list.some((y) => y !== -1)) bad('labels', 'must be omitted: this model is unconditional');
  list.forEach((y, i) => {
    if (y >= numClasses) bad(`labels[${i}]`, `must be an integer class in [0, ${numClasses - 1}] (or -1 for none), got ${y}`);
  });
  return list;
}

/**
 * The whole request checked once (the schema, then against the model:
 * classes, decoders) and its defaults filled in, with its per-image seeds.
 * Errors are FARMER_E_BAD_INPUT naming the field and what is allowed.
 */
export function resolveRequest(runner: FarmerRunner, o: GenerateOptions): ResolvedRequest {
  const { onProgress: _onProgress, signal: _signal, labels, ...data } = o;
  const list = labels === null || labels === undefined || typeof labels === 'number' ? labels : Array.from(labels);
  const p = parseOptions(GENERATE_OPTIONS_SCHEMA, { ...data, labels: list }, 'generate');
  const count = imageCount(p);
  const resolvedLabels = checkLabels(p.labels, count, runner.config.numClasses);
  if (p.imageSeeds && p.imageSeeds.length !== count) bad('imageSeeds', `must have one entry per image (${count}), got ${p.imageSeeds.length}`);
  const guided = resolvedLabels !== null && resolvedLabels.some((y) => y >= 0);
  const sampler = p.sampler === 'auto' ? (guided && p.cfg.w > 0 ? 'resampling-cfg' : 'decoupled') : p.sampler;
  if (sampler !== 'decoupled' && !guided) bad('sampler', `${sampler} needs class labels (guidance contrasts a class with the null label)`);
  const decoder = p.decoder === 'auto' ? resolveDecoder(runner, p.batchSize) : p.decoder;
  if (!runner.decoders.includes(decoder)) bad('decoder', `'${decoder}' is not available for this model (available: ${runner.decoders.join(', ')})`);
  const { informative } = p;
  const redundant = { temperature: p.redundant?.temperature ?? informative.temperature, scale: p.redundant?.scale ?? informative.scale };
  const naive = sampler === 'naive-cfg' ? { w: p.naive.w ?? p.cfg.w, temperature: p.naive.temperature, scale: p.naive.scale, maxStdRatio: p.naive.maxStdRatio } : undefined;
  const options: ResolvedGenerateOptions = {
    count,
    labels: resolvedLabels,
    seed: p.seed ?? 0,
    sampler,
    informative,
    redundant,
    cfg: sampler === 'resampling-cfg' ? p.cfg : undefined,
    naive,
    decoder,
    jacobi: decoder === 'jacobi' ? p.jacobi : undefined,
    batchSize: p.batchSize,
    redraws: p.redraws,
  };
  return p.imageSeeds ? { options, imageSeeds: p.imageSeeds } : { options };
}

/** Fills defaults and validates every option against the schema and the model; errors name the field and what is allowed. */
export function resolveGenerateOptions(runner: FarmerRunner, o: GenerateOptions): ResolvedGenerateOptions {
  return resolveRequest(runner, o).options;
}
