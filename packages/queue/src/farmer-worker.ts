import { hostname } from 'node:os';
import { discoverModels, openModel, type RuntimeChoice } from '@farmer/runtime';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { QUEUE_PREFIX, SHARD_QUEUE_PREFIX, type GenerateJobResult, type ShardResult } from './job-data.js';
import { failureReason } from './job-errors.js';
import { checkpointHash } from './model-identity.js';
import { PassBatcher } from './pass-batcher.js';
import { RedisClients } from './redis-clients.js';
import { SHUTDOWN_TIMEOUT_MS } from './shutdown-timeout.js';
import { connectRedis, withTimeout } from './redis-connection.js';
import { processJob, type Listener, type Served, type WorkerContext, type WorkerModel, type WorkerStats } from './worker-jobs.js';

export type { WorkerModel, WorkerStats } from './worker-jobs.js';

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
  const log = (line: string): void => options.onLog?.(line);
  const stats: WorkerStats = { shards: 0, requests: 0, passes: 0, refused: 0, failed: 0 };
  const w: WorkerContext = {
    id: options.id ?? `${hostname()}:${process.pid}`,
    lockMs: options.lockMs ?? WORKER_DEFAULTS.lockMs,
    log,
    stats,
    batcher: new PassBatcher<unknown, unknown>({ windowMs: options.batchWindowMs ?? WORKER_DEFAULTS.batchWindowMs, onPass: () => void stats.passes++ }),
  };
  const concurrency = options.concurrency ?? WORKER_DEFAULTS.concurrency;
  /** The processor calls under way: the jobs held. */
  const held = new Set<Promise<unknown>>();
  const served = await openServedModels(options, log);
  const clients = new RedisClients(link);
  const hold = (entry: Served, kind: 'shard' | 'generate') => (job: Job, token?: string): Promise<ShardResult | GenerateJobResult> => {
    const run = processJob(w, entry, kind, job, token);
    held.add(run);
    void run.finally(() => held.delete(run)).catch(() => undefined);
    return run;
  };
  for (const entry of served) {
    entry.requests = listen(w, clients, entry, 'generate', concurrency, hold(entry, 'generate'));
    entry.shards = listen(w, clients, entry, 'shard', concurrency, hold(entry, 'shard'));
  }
  await Promise.all(served.flatMap((e) => [e.requests!.worker.waitUntilReady(), e.shards!.worker.waitUntilReady()]));
  log(`worker ${w.id} on ${link.url} (Redis ${link.version}): ${served.map((e) => e.name).join(', ')}; ${concurrency} requests and 1 shard at once, lock ${w.lockMs / 1000} s`);
  let closing: Promise<WorkerStop> | undefined;
  return {
    id: w.id,
    redis: link.url,
    models: served.map(({ name, dir, identity, error }) => ({ name, dir, identity, error })),
    stats,
    close: (timeoutMs = WORKER_DEFAULTS.shutdownTimeoutMs) => (closing ??= closeWorker(served, held, clients, timeoutMs)),
  };
}

/** Opens every model of `options.models` for sampling; one that cannot be opened is kept with the reason (its jobs fail with it). */
async function openServedModels(options: FarmerWorkerOptions, log: (line: string) => void): Promise<Served[]> {
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
  return served;
}

/** A BullMQ worker on one of a model's two queues (requests, or shards one at a time), and that queue. */
function listen(w: WorkerContext, clients: RedisClients, entry: Served, kind: 'shard' | 'generate', concurrency: number, processor: (job: Job, token?: string) => Promise<unknown>): Listener {
  const prefix = kind === 'shard' ? SHARD_QUEUE_PREFIX : QUEUE_PREFIX;
  const queue = new Queue(entry.name, { connection: clients.connection(), prefix });
  queue.on('error', (e) => w.log(`queue ${prefix}:${entry.name}: ${e.message}`));
  const worker = new Worker(entry.name, processor, {
    connection: clients.connection(),
    prefix,
    // One shard at a time: a second would wait behind the first while another worker might idle.
    concurrency: kind === 'shard' ? 1 : concurrency,
    lockDuration: w.lockMs,
    // A killed worker's job is back in the queue within lockMs + 2 × this.
    stalledInterval: Math.min(15_000, Math.max(1000, Math.round(w.lockMs / 2))),
    maxStalledCount: 3,
    name: w.id,
  });
  worker.on('error', (e) => w.log(`worker ${prefix}:${entry.name}: ${e.message}`));
  worker.on('failed', (job, e) => {
    if (e instanceof DelayedError || e.name === 'DelayedError') return;
    w.stats.failed++;
    w.log(`job ${job?.id} failed: ${e.message}`);
  });
  return { worker, queue };
}

/** {@link RunningWorker.close}: stop the listeners, let the held jobs finish within `timeoutMs`, free the models once no pass runs. */
async function closeWorker(served: readonly Served[], held: ReadonlySet<Promise<unknown>>, clients: RedisClients, timeoutMs: number): Promise<WorkerStop> {
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
