import { hostname } from 'node:os';
import type { FarmerRunner } from '@farmer/ar-gmm';
import { encodePng, isFarmerError, USER_ERROR_CODES } from '@farmer/core';
import { discoverModels, openModel, type RuntimeChoice } from '@farmer/runtime';
import { generate, generateBatchKey, generateTogether, type GenerateRequest, type GenerateResult } from '@farmer/sampling';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { parseJobData, QUEUE_PREFIX, SHARD_QUEUE_PREFIX, type GenerateJobData, type GenerateJobResult, type Refusal, type ShardJobData, type ShardResult } from './job-data.js';
import { failureReason } from './job-errors.js';
import { checkpointHash, identityMismatch, type ModelIdentity } from './model-identity.js';
import { PassBatcher } from './pass-batcher.js';
import { RedisClients } from './redis-clients.js';
import { SHUTDOWN_TIMEOUT_MS } from './shutdown-timeout.js';
import { connectRedis, withTimeout } from './redis-connection.js';

/** Defaults of {@link startWorker}. */
export const WORKER_DEFAULTS = Object.freeze({
  /** Jobs a worker holds at once per model: compatible generate requests among them share a pass. */
  concurrency: 4,
  /** A job's lock, ms: the worker renews it every half; a worker silent for this long is taken for dead and its job retried elsewhere. */
  lockMs: 60_000,
  /** How long a generate pass with room waits for more compatible requests, ms. */
  batchWindowMs: 5,
  /** How long `close()` lets the held jobs finish, ms: as long as a server lets its requests finish on SIGTERM. */
  shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
});

/** How long a closing worker whose jobs finished waits for BullMQ to close its connections cleanly, ms. */
const CLOSE_WAIT_MS = 1000;

/** How long a refused job waits before a worker may take it again, ms: long enough for another worker to get there first. */
const REFUSAL_DELAY_MS = 250;
/** Refusals count towards failing a job for this long, ms. */
const REFUSAL_WINDOW_MS = 60_000;

/** Options of {@link startWorker}: the Redis URL, the models served, the runtime, concurrency, threads, the lock time and logging. */
export interface FarmerWorkerOptions {
  /** redis://[:PASSWORD@]HOST[:PORT][/DB] */
  redis: string;
  /** A directory of checkpoint directories, or one checkpoint (default: the built-in model), as `farmer serve --models` reads it. */
  models?: string;
  /** Runtime of every model (default 'auto'): jobs made for another runtime are refused. */
  runtime?: RuntimeChoice;
  /** Generate requests held at once per model (default 4); shards are taken one at a time. */
  concurrency?: number;
  /** onnxruntime intra-op threads (default onnxruntime's: one per core); N workers on one machine give each cores ÷ N. */
  threads?: number;
  /** A job's lock, ms (default 60 s); keep it above the time of one shard. */
  lockMs?: number;
  batchWindowMs?: number;
  /** This worker's name in logs and job records (default `${hostname}:${pid}`). */
  id?: string;
  /** Bound on the Redis probe at start, ms. */
  redisTimeoutMs?: number;
  /** One line per event worth telling an operator. */
  onLog?: (line: string) => void;
}

/** A model of a worker: ready with its identity, or failed with why. */
export interface WorkerModel {
  readonly name: string;
  readonly dir: string;
  readonly identity?: ModelIdentity;
  /** Why the model could not be opened (its jobs fail with this reason). */
  readonly error?: string;
}

/** What a worker did so far. */
export interface WorkerStats {
  shards: number;
  requests: number;
  passes: number;
  refused: number;
  failed: number;
}

/** How a worker stopped. */
export interface WorkerStop {
  /**
   * Whether the jobs it held finished and were acknowledged in Redis within
   * the timeout. When not (Redis down, or jobs too long), they were
   * abandoned: their locks lapse and BullMQ retries them on another worker.
   */
  finished: boolean;
  /** Jobs still running when it gave up waiting (their passes end on their own; nothing is sent). */
  running: number;
}

/** A worker taking jobs from the queues of its models until closed. */
export interface RunningWorker {
  readonly id: string;
  /** The Redis URL without its password. */
  readonly redis: string;
  readonly models: readonly WorkerModel[];
  readonly stats: Readonly<WorkerStats>;
  /**
   * Stops taking jobs and lets the held ones finish (and be acknowledged in
   * Redis) for up to `timeoutMs` (default {@link WORKER_DEFAULTS}.shutdownTimeoutMs);
   * then ends every connection, Redis or not, and frees the models once no
   * pass runs. Resolves within the timeout (plus a second while Redis
   * answers); a held job that could not finish, Redis being down or the job
   * too long, is abandoned and BullMQ retries it elsewhere. Idempotent.
   */
  close(timeoutMs?: number): Promise<WorkerStop>;
}

/** A BullMQ worker on one of a model's queues, and that queue (to count its workers). */
interface Listener {
  worker: Worker;
  queue: Queue;
}

interface Served extends WorkerModel {
  runner?: FarmerRunner;
  close?: () => Promise<void>;
  requests?: Listener;
  shards?: Listener;
}

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

/** The images of one shard, each drawn from its own seed `${seed}:${start + k}`, as PNGs. */
async function drawShard(runner: FarmerRunner, d: ShardJobData, onImages: (done: number) => void): Promise<{ pngs: string[]; labels: number[] }> {
  const imageSeeds = Array.from({ length: d.count }, (_, k) => `${d.seed}:${d.start + k}`);
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

/**
 * Starts a farmer worker: probes Redis (FARMER_E_BACKEND within the probe
 * timeout when it cannot be reached), opens every model of `models`
 * through @farmer/runtime, and takes jobs from each model's two queues:
 *
 * - (`farmer-shards:<model>`) a shard of a sharded sample job, drawn alone with its own per-image
 *   seeds (so its bytes equal those of one process drawing the whole job);
 * - (`farmer:<model>`) a server's generate request; compatible requests held at once share a
 *   pass, as in the in-process server (`generateTogether`).
 *
 * A job made for other weights or another runtime is put back for another
 * worker, and fails (naming every refusal) once every live worker of the
 * queue has refused it. A model that could not be opened fails the job it
 * takes with the reason (BullMQ retries it, on another worker), and this
 * worker stops taking that model's jobs. One pass runs at a time; generate
 * requests go before shards, and a worker holds one shard at a time (each
 * model has a queue of requests and one of shards).
 */
export async function startWorker(options: FarmerWorkerOptions): Promise<RunningWorker> {
  const link = await connectRedis(options.redis, { timeoutMs: options.redisTimeoutMs });
  const id = options.id ?? `${hostname()}:${process.pid}`;
  const log = (line: string): void => options.onLog?.(line);
  const lockMs = options.lockMs ?? WORKER_DEFAULTS.lockMs;
  const concurrency = options.concurrency ?? WORKER_DEFAULTS.concurrency;
  const stats: WorkerStats = { shards: 0, requests: 0, passes: 0, refused: 0, failed: 0 };
  /** The processor calls under way: the jobs held. */
  const held = new Set<Promise<unknown>>();
  const batcher = new PassBatcher<unknown, unknown>({ windowMs: options.batchWindowMs ?? WORKER_DEFAULTS.batchWindowMs, onPass: () => void stats.passes++ });
  const served: Served[] = [];
  for (const source of discoverModels(options.models)) {
    const entry: Served = { ...source };
    try {
      const m = await openModel(source.dir, { runtime: options.runtime ?? 'auto', intraOpNumThreads: options.threads, onNotice: (line) => log(`${source.name}: ${line}`) });
      Object.assign(entry, { runner: m.runner, close: m.close, identity: { model: source.name, checkpointHash: await checkpointHash(m.dir), runtime: m.runtime } });
      log(`model ${source.name}: ${m.runtime}, checkpoint ${entry.identity!.checkpointHash.slice(0, 12)}`);
    } catch (e) {
      Object.assign(entry, { error: failureReason(e) });
      log(`model ${source.name} cannot be opened, its jobs will fail here: ${entry.error}`);
    }
    served.push(entry);
  }

  /** Puts a job back for another worker, or fails it once every live worker of the queue refused it. */
  const refuse = async (queue: Queue, job: Job, data: GenerateJobData | ShardJobData, why: string, token: string | undefined): Promise<never> => {
    stats.refused++;
    // Refusals older than the window may come from workers gone since: only recent ones count against the live workers.
    const now = Date.now();
    const refusedBy: Refusal[] = [...(data.refusedBy ?? []).filter((r) => r.worker !== id && now - r.at < REFUSAL_WINDOW_MS), { worker: id, reason: why, at: now }];
    const live = await queue.getWorkersCount();
    if (refusedBy.length >= live) {
      const w = data.identity;
      throw new UnrecoverableError(
        `no worker can run this job of model '${w.model}' (checkpoint ${w.checkpointHash.slice(0, 12)}, ${w.runtime}): ${refusedBy.map((r) => `${r.worker} refused, ${r.reason}`).join('; ')} [FARMER_E_BACKEND]`,
      );
    }
    log(`refused job ${job.id}: ${why}`);
    await job.updateData({ ...data, refusedBy });
    await job.moveToDelayed(Date.now() + REFUSAL_DELAY_MS, token);
    throw new DelayedError();
  };

  const runShard = async (runner: FarmerRunner, job: Job, d: ShardJobData): Promise<ShardResult> => {
    const t0 = performance.now();
    const { value } = await batcher.submit({
      input: d,
      priority: 1,
      run: async () => [await drawShard(runner, d, (images) => void job.updateProgress({ images }).catch(() => undefined))],
    });
    const seconds = (performance.now() - t0) / 1000;
    if (seconds * 1000 > lockMs / 2) log(`shard ${d.shard} took ${seconds.toFixed(1)} s, over half the lock (${lockMs / 1000} s): raise --lock-seconds or lower --shard-size`);
    stats.shards++;
    return { ...(value as { pngs: string[]; labels: number[] }), worker: id, seconds };
  };

  const runGenerate = async (runner: FarmerRunner, d: GenerateJobData): Promise<GenerateJobResult> => {
    const key = generateBatchKey(runner, d.request);
    const { value, pass } = await batcher.submit({
      input: d.request,
      batch: { key, size: d.request.count, capacity: d.capacity },
      run: (requests) => generateTogether(runner, requests as GenerateRequest[]),
    });
    const r = value as GenerateResult;
    stats.requests++;
    const { data, count, height, width, channels } = r.images;
    return { images: { data: toBase64(data), count, height, width, channels }, labels: Array.from(r.labels), parameters: r.parameters, timings: r.timings, runtime: r.runtime, redrawn: r.redrawn, pass: { id: pass.id, requests: pass.items }, worker: id };
  };

  const processJob = (entry: Served, kind: 'shard' | 'generate') => (job: Job, token?: string): Promise<ShardResult | GenerateJobResult> => {
    const run = processHeld(entry, kind, job, token);
    held.add(run);
    void run.finally(() => held.delete(run)).catch(() => undefined);
    return run;
  };

  const processHeld = async (entry: Served, kind: 'shard' | 'generate', job: Job, token: string | undefined): Promise<ShardResult | GenerateJobResult> => {
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
      log(`stopped taking jobs of model ${entry.name}`);
      throw new Error(`worker ${id} cannot open model '${entry.name}' from ${entry.dir}: ${entry.error}`);
    }
    const why = identityMismatch(data.identity, entry.identity);
    if (why) return refuse(listener.queue, job, data, why, token);
    try {
      return data.kind === 'shard' ? await runShard(entry.runner, job, data) : await runGenerate(entry.runner, data);
    } catch (e) {
      // Bad input or numbers from these settings fail alike everywhere: no retry.
      if (isFarmerError(e) && (USER_ERROR_CODES.has(e.code) || e.code === 'FARMER_E_NON_FINITE')) throw new UnrecoverableError(failureReason(e));
      throw new Error(failureReason(e));
    }
  };

  const clients = new RedisClients(link);
  const listen = (entry: Served, kind: 'shard' | 'generate'): Listener => {
    const prefix = kind === 'shard' ? SHARD_QUEUE_PREFIX : QUEUE_PREFIX;
    const queue = new Queue(entry.name, { connection: clients.connection(), prefix });
    queue.on('error', (e) => log(`queue ${prefix}:${entry.name}: ${e.message}`));
    const worker = new Worker(entry.name, processJob(entry, kind), {
      connection: clients.connection(),
      prefix,
      // One shard at a time: a second would wait behind the first while another worker might idle.
      concurrency: kind === 'shard' ? 1 : concurrency,
      lockDuration: lockMs,
      // A killed worker's job is back in the queue within lockMs + 2 × this.
      stalledInterval: Math.min(15_000, Math.max(1000, Math.round(lockMs / 2))),
      maxStalledCount: 3,
      name: id,
    });
    worker.on('error', (e) => log(`worker ${prefix}:${entry.name}: ${e.message}`));
    worker.on('failed', (job, e) => {
      if (e instanceof DelayedError || e.name === 'DelayedError') return;
      stats.failed++;
      log(`job ${job?.id} failed: ${e.message}`);
    });
    return { worker, queue };
  };
  for (const entry of served) {
    entry.requests = listen(entry, 'generate');
    entry.shards = listen(entry, 'shard');
  }
  await Promise.all(served.flatMap((e) => [e.requests!.worker.waitUntilReady(), e.shards!.worker.waitUntilReady()]));
  log(`worker ${id} on ${link.url} (Redis ${link.version}): ${served.map((e) => e.name).join(', ')}; ${concurrency} requests and 1 shard at once, lock ${lockMs / 1000} s`);

  let closing: Promise<WorkerStop> | undefined;
  return {
    id,
    redis: link.url,
    models: served.map(({ name, dir, identity, error }) => ({ name, dir, identity, error })),
    stats,
    close: (timeoutMs = WORKER_DEFAULTS.shutdownTimeoutMs) =>
      (closing ??= (async () => {
        const listeners = served.flatMap((e) => [e.requests, e.shards]).filter((l): l is Listener => l !== undefined);
        const finished = await stopListeners(listeners, clients, timeoutMs);
        const running = held.size;
        // An abandoned pass still runs: its model is freed once it is over.
        const freeModels = Promise.allSettled([...held]).then(async () => {
          for (const e of served) await e.close?.();
        });
        if (running === 0) await freeModels;
        else void freeModels.catch(() => undefined);
        return { finished, running };
      })()),
  };
}

/**
 * Stops a worker's BullMQ workers within `timeoutMs`: they take no new job
 * and finish the held ones, acknowledged in Redis, if they can in time
 * (BullMQ's `pause()` waits for exactly that). Then they close without
 * waiting (a forced `close` waits neither for jobs nor for Redis) and every
 * connection ends. Resolves whether the held jobs finished.
 */
async function stopListeners(listeners: readonly Listener[], clients: RedisClients, timeoutMs: number): Promise<boolean> {
  const finished = await withTimeout(Promise.all(listeners.map((l) => l.worker.pause())), timeoutMs, () => new Error('shutdown timeout')).then(
    () => true,
    () => false,
  );
  await clients.close(
    listeners.flatMap((l) => [l.worker.close(true), l.queue.close()]),
    finished ? CLOSE_WAIT_MS : 0,
  );
  return finished;
}
