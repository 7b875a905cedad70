import { FarmerError, validate } from '@farmer/core';
import { GENERATE_OPTIONS_SCHEMA, type GenerateRequest, type GenerateTimings, type RedrawnImage, type ResolvedGenerateOptions } from '@farmer/sampling';
import { z } from 'zod';
import type { ModelIdentity } from './model-identity.js';

/**
 * The keys of every model's queue of generate requests start with this
 * (BullMQ's `prefix`); each model has its queue named after it.
 */
export const QUEUE_PREFIX = 'farmer';

/**
 * The prefix of every model's queue of shards (sharded sample jobs), named
 * after the model too. Kept apart from the requests so that a worker holds
 * one shard at a time (a second one would only wait behind the first while
 * another worker idles) but several requests, and so that a server's
 * admission counts requests, not the shards of a 50,000-image job.
 */
export const SHARD_QUEUE_PREFIX = 'farmer-shards';

/** The sampler settings of a sharded job: resolved options without what differs per shard. */
export type ShardSettings = Omit<ResolvedGenerateOptions, 'count' | 'labels' | 'seed'>;

/** A worker that refused a job, and why (its model differs from the job's). */
export interface Refusal {
  worker: string;
  reason: string;
  /** When, ms since the epoch. */
  at: number;
}

/**
 * One shard of a sharded sample job: images `start .. start + count - 1`
 * of the whole job, image i drawn from seed `seedOf(seed, i)` exactly as one
 * process drawing the whole job would.
 */
export interface ShardJobData {
  kind: 'shard';
  identity: ModelIdentity;
  /** The job's run id (see `shardedRunId`). */
  run: string;
  shard: number;
  start: number;
  count: number;
  seed: number;
  /** The shard's labels (one per image), or null for none. */
  labels: number[] | null;
  settings: ShardSettings;
  refusedBy?: Refusal[];
}

/** One generate request of a server: the request as the in-process server would run it, and how many images a pass may hold. */
export interface GenerateJobData {
  kind: 'generate';
  identity: ModelIdentity;
  request: GenerateRequest;
  capacity: number;
  refusedBy?: Refusal[];
}

/** What a job in a farmer queue carries: a shard of a sharded sample job, or a server's generate request. */
export type FarmerJobData = ShardJobData | GenerateJobData;

/** What a worker returns for a shard: each image as PNG (base64) with its label. */
export interface ShardResult {
  pngs: string[];
  labels: number[];
  worker: string;
  seconds: number;
}

/** What a worker returns for a generate request: the request's images (u8 HWC, base64) and how the pass ran. */
export interface GenerateJobResult {
  images: { data: string; count: number; height: number; width: number; channels: number };
  labels: number[];
  parameters: ResolvedGenerateOptions;
  timings: GenerateTimings;
  runtime: string;
  /** Images drawn again because the decoder could not invert their first latents (absent from older workers). */
  redrawn?: RedrawnImage[];
  /** The worker's pass that drew the images, and how many requests it served. */
  pass: { id: number; requests: number };
  worker: string;
}

const identity = z.object({ model: z.string().min(1), checkpointHash: z.string().regex(/^[0-9a-f]{64}$/), runtime: z.string().min(1) });
const refusals = z.array(z.object({ worker: z.string(), reason: z.string(), at: z.number() })).optional();
const { count, labels, seed } = GENERATE_OPTIONS_SCHEMA.shape;
/** One label of the schema's `labels` (its first form: a class, or −1). */
const label = labels.unwrap().options[0];
// The sampler settings are checked by @farmer/sampling's generate-options schema itself: a job
// holding an option that is not in it, or a value outside its bounds, is refused before any work.
const shardSettings = GENERATE_OPTIONS_SCHEMA.omit({ count: true, labels: true, seed: true, imageSeeds: true });
const request = GENERATE_OPTIONS_SCHEMA.extend({ count: count.unwrap(), seed: seed.unwrap() });

const jobSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('shard'),
    identity,
    run: z.string().min(1),
    shard: z.number().int().nonnegative(),
    start: z.number().int().nonnegative(),
    count: count.unwrap(),
    seed: seed.unwrap(),
    labels: z.array(label).nullable(),
    settings: shardSettings,
    refusedBy: refusals,
  }),
  z.object({ kind: z.literal('generate'), identity, request, capacity: count.unwrap(), refusedBy: refusals }),
]);

/**
 * Checks a job's data as it comes out of Redis; malformed data (another
 * program's job, another farmer version, an option outside the schema) is
 * FARMER_E_BAD_INPUT. Returns the data as it came: the check fills in no
 * default, so the worker draws exactly what was asked.
 */
export function parseJobData(data: unknown): FarmerJobData {
  const job = validate(data, 'a farmer job', jobSchema, 'FARMER_E_BAD_INPUT');
  if (job.kind === 'shard' && job.labels && job.labels.length !== job.count) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `a farmer job is invalid: ${job.labels.length} labels for a shard of ${job.count} images`);
  }
  return data as FarmerJobData;
}
