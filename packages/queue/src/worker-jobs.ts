import type { FarmerRunner } from '@farmer/ar-gmm';
import { encodePng, isFarmerError, USER_ERROR_CODES } from '@farmer/core';
import { generate, generateBatchKey, generateTogether, seedOf, type GenerateRequest, type GenerateResult } from '@farmer/sampling';
import { DelayedError, UnrecoverableError, type Job, type Queue, type Worker } from 'bullmq';
import { parseJobData, type GenerateJobData, type GenerateJobResult, type Refusal, type ShardJobData, type ShardResult } from './job-data.js';
import { failureReason } from './job-errors.js';
import { identityMismatch, type ModelIdentity } from './model-identity.js';
import type { PassBatcher } from './pass-batcher.js';

/*
 * What a farmer worker does with one job it took: check it, refuse it when
 * it was made for other weights or another runtime, or draw its images (a
 * shard alone, a generate request in a pass shared with compatible ones).
 */

/** How long a refused job waits before a worker may take it again, ms: long enough for another worker to get there first. */
const REFUSAL_DELAY_MS = 250;
/** Refusals count towards failing a job for this long, ms. */
const REFUSAL_WINDOW_MS = 60_000;

/** What a worker did so far. */
export interface WorkerStats {
  shards: number;
  requests: number;
  passes: number;
  refused: number;
  failed: number;
}

/** A model of a worker: ready with its identity, or failed with why. */
export interface WorkerModel {
  readonly name: string;
  readonly dir: string;
  readonly identity?: ModelIdentity;
  /** Why the model could not be opened (its jobs fail with this reason). */
  readonly error?: string;
}

/** A BullMQ worker on one of a model's queues, and that queue (to count its workers). */
export interface Listener {
  worker: Worker;
  queue: Queue;
}

/** A model as a worker serves it: its runner once opened, and its two listeners. */
export interface Served extends WorkerModel {
  runner?: FarmerRunner;
  close?: () => Promise<void>;
  requests?: Listener;
  shards?: Listener;
}

/** What the job steps of one worker share: its name, lock, log, counters and the pass batcher. */
export interface WorkerContext {
  readonly id: string;
  readonly lockMs: number;
  readonly log: (line: string) => void;
  readonly stats: WorkerStats;
  readonly batcher: PassBatcher<unknown, unknown>;
}

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** The images of one shard, each drawn from its own seed {@link seedOf}(seed, start + k), as PNGs. */
async function drawShard(runner: FarmerRunner, d: ShardJobData, onImages: (done: number) => void): Promise<{ pngs: string[]; labels: number[] }> {
  const imageSeeds = Array.from({ length: d.count }, (_, k) => seedOf(d.seed, d.start + k));
  let reported = 0;
  const r: GenerateResult = await generate(runner, {
    ...d.settings,
    count: d.count,
    labels: d.labels,
    seed: d.seed,
    imageSeeds,
    onProgress: (p) => {
      if (p.imagesDone > reported) onImages((reported = p.imagesDone));
    },
  });
  return { pngs: Array.from({ length: d.count }, (_, i) => toBase64(encodePng(r.images, i))), labels: Array.from(r.labels) };
}

/** Puts a job back for another worker, or fails it once every live worker of the queue refused it. */
async function refuse(w: WorkerContext, queue: Queue, job: Job, data: GenerateJobData | ShardJobData, why: string, token: string | undefined): Promise<never> {
  w.stats.refused++;
  // Refusals older than the window may come from workers gone since: only recent ones count against the live workers.
  const now = Date.now();
  const refusedBy: Refusal[] = [...(data.refusedBy ?? []).filter((r) => r.worker !== w.id && now - r.at < REFUSAL_WINDOW_MS), { worker: w.id, reason: why, at: now }];
  const live = await queue.getWorkersCount();
  if (refusedBy.length >= live) {
    const m = data.identity;
    throw new UnrecoverableError(
      `no worker can run this job of model '${m.model}' (checkpoint ${m.checkpointHash.slice(0, 12)}, ${m.runtime}): ${refusedBy.map((r) => `${r.worker} refused, ${r.reason}`).join('; ')} [FARMER_E_BACKEND]`,
    );
  }
  w.log(`refused job ${job.id}: ${why}`);
  await job.updateData({ ...data, refusedBy });
  await job.moveToDelayed(Date.now() + REFUSAL_DELAY_MS, token);
  throw new DelayedError();
}

/** Draws a shard alone (a shard waits behind the generate requests), reporting images done as the job's progress. */
async function runShard(w: WorkerContext, runner: FarmerRunner, job: Job, d: ShardJobData): Promise<ShardResult> {
  const t0 = performance.now();
  const { value } = await w.batcher.submit({
    input: d,
    priority: 1,
    run: async () => [await drawShard(runner, d, (images) => void job.updateProgress({ images }).catch(() => undefined))],
  });
  const seconds = (performance.now() - t0) / 1000;
  if (seconds * 1000 > w.lockMs / 2) w.log(`shard ${d.shard} took ${seconds.toFixed(1)} s, over half the lock (${w.lockMs / 1000} s): raise --lock-seconds or lower --shard-size`);
  w.stats.shards++;
  return { ...(value as { pngs: string[]; labels: number[] }), worker: w.id, seconds };
}

/** Draws a server's generate request in a pass with the compatible ones held (`generateTogether`). */
async function runGenerate(w: WorkerContext, runner: FarmerRunner, d: GenerateJobData): Promise<GenerateJobResult> {
  const key = generateBatchKey(runner, d.request);
  const { value, pass } = await w.batcher.submit({
    input: d.request,
    batch: { key, size: d.request.count, capacity: d.capacity },
    run: (requests) => generateTogether(runner, requests as GenerateRequest[]),
  });
  const r = value as GenerateResult;
  w.stats.requests++;
  const { data, count, height, width, channels } = r.images;
  return { images: { data: toBase64(data), count, height, width, channels }, labels: Array.from(r.labels), parameters: r.parameters, timings: r.timings, runtime: r.runtime, redrawn: r.redrawn, pass: { id: pass.id, requests: pass.items }, worker: w.id };
}

/**
 * One job taken from `entry`'s `kind` queue: checked (malformed data fails
 * it for good), refused when made for other weights or another runtime,
 * failed (for another worker to retry) when the model could not be opened
 * here, else drawn. Bad input and non-finite numbers fail alike everywhere:
 * no retry.
 */
export async function processJob(w: WorkerContext, entry: Served, kind: 'shard' | 'generate', job: Job, token: string | undefined): Promise<ShardResult | GenerateJobResult> {
  let data;
  try {
    data = parseJobData(job.data);
  } catch (e) {
    throw new UnrecoverableError(failureReason(e));
  }
  if (data.kind !== kind) throw new UnrecoverableError(`a ${data.kind} job in the ${kind} queue of model '${entry.name}' [FARMER_E_BAD_INPUT]`);
  const listener = kind === 'shard' ? entry.shards! : entry.requests!;
  if (!entry.runner || !entry.identity) {
    // Another worker may have the model: fail this attempt (BullMQ retries it) and stop taking this model's jobs.
    setImmediate(() => void Promise.all([entry.requests?.worker.close(), entry.shards?.worker.close()]).catch(() => undefined));
    w.log(`stopped taking jobs of model ${entry.name}`);
    throw new Error(`worker ${w.id} cannot open model '${entry.name}' from ${entry.dir}: ${entry.error}`);
  }
  const why = identityMismatch(data.identity, entry.identity);
  if (why) return refuse(w, listener.queue, job, data, why, token);
  try {
    return data.kind === 'shard' ? await runShard(w, entry.runner, job, data) : await runGenerate(w, entry.runner, data);
  } catch (e) {
    if (isFarmerError(e) && (USER_ERROR_CODES.has(e.code) || e.code === 'FARMER_E_NON_FINITE')) throw new UnrecoverableError(failureReason(e));
    throw new Error(failureReason(e));
  }
}
