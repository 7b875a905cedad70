import { FarmerError } from '@farmer/core';
import type { ResolvedGenerateOptions } from '@farmer/sampling';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { QUEUE_PREFIX, SHARD_QUEUE_PREFIX, type ShardJobData, type ShardResult, type ShardSettings } from './job-data.js';
import { errorFromReason } from './job-errors.js';
import type { ModelIdentity } from './model-identity.js';
import { redisUnreachable, withTimeout, type RedisLink } from './redis-connection.js';
import { planShards, shardedRunId, type ShardSpec } from './shard-plan.js';

/** One shard's images as they come back: PNG bytes and labels, in image order. */
export interface ShardImages {
  pngs: Uint8Array[];
  labels: number[];
  /** The worker that drew them. */
  worker: string;
}

/** Progress across every worker. */
export interface ShardedProgress {
  images: number;
  /** Images in shards written, plus those the running shards report. */
  imagesDone: number;
  shards: number;
  shardsDone: number;
  /** Workers listening on the model's shard queue now. */
  workers: number;
}

export interface ShardedJobOptions {
  link: RedisLink;
  identity: ModelIdentity;
  /** The whole job's resolved options: count, labels and seed, and the sampler settings every shard uses. */
  options: ResolvedGenerateOptions;
  /** Images per shard: a multiple of `options.batchSize` (see `planShards`). */
  shardSize: number;
  /** Where the results go (host and folder, say): part of the run id, so two destinations never share shards. */
  destination: string;
  /**
   * Takes one shard's images (writes them, or keeps them). Called once per
   * shard, one shard at a time; the shard is acknowledged (recorded as
   * written in Redis) only after it resolves.
   */
  write: (shard: ShardSpec, images: ShardImages) => Promise<void>;
  /**
   * Whether a shard's output is still in place, for shards Redis records as
   * written by an earlier submission of the same run: true skips them. Omit
   * it when results are not kept (metrics): then every shard is collected.
   */
  alreadyWritten?: (shard: ShardSpec) => boolean;
  /**
   * 'written' (default): remove each shard's job from Redis once written.
   * 'finished': keep every result in Redis until the whole run is collected,
   * so a resubmission after a crash of this process reuses them all (for
   * results held in memory).
   */
  acknowledge?: 'written' | 'finished';
  onProgress?: (p: ShardedProgress) => void;
  /** One-line notices: shards skipped, waiting for workers, retried attempts. */
  onNotice?: (line: string) => void;
  /** Attempts per shard (default 5): a worker that fails or dies costs one. */
  attempts?: number;
  /** How often the submitter checks workers and missed events, ms (default 2000). */
  pollMs?: number;
  signal?: AbortSignal;
}

export interface ShardedJobResult {
  runId: string;
  shards: number;
  /** Shards written by an earlier submission of the same run. */
  skipped: number;
  /** Workers that drew this submission's shards. */
  workers: string[];
  seconds: number;
}

const WRITTEN_TTL_SECONDS = 7 * 24 * 3600;
const CHUNK = 200;

/** The per-shard settings: the resolved options minus what each shard sets itself. */
function shardSettings(o: ResolvedGenerateOptions): ShardSettings {
  const { count: _count, labels: _labels, seed: _seed, ...settings } = o;
  return settings;
}

async function inChunks<T, R>(items: readonly T[], f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(...(await Promise.all(items.slice(i, i + CHUNK).map(f))));
  return out;
}

/**
 * Runs a sample job as shards on farmer workers (`startWorker`), through
 * the model's shard queue: one BullMQ job per shard (id `<run>-<shard>`);
 * a worker runs servers' generate requests before shards. Results are handed to
 * `write` as they complete, in any order; a shard is acknowledged only once
 * written. A resubmission of the same run (same id) skips shards recorded
 * as written whose output is still there, collects results that finished
 * meanwhile, retries failed shards and waits for running ones. A shard
 * whose attempts are used up fails the run with the worker's reason (its
 * FarmerError code kept). Every wait on Redis is bounded by the link's
 * timeout: a Redis that goes away is FARMER_E_BACKEND, never a hang.
 */
export async function runShardedJob(o: ShardedJobOptions): Promise<ShardedJobResult> {
  const t0 = performance.now();
  const { link, identity } = o;
  const shards = planShards(o.options.count, o.shardSize, o.options.batchSize);
  const runId = shardedRunId(identity, o.options, o.shardSize, o.destination);
  const jobId = (s: ShardSpec): string => `${runId}-${s.index}`;
  const writtenKey = `${QUEUE_PREFIX}:runs:${runId}:written`;
  const connection = link.bullConnection();
  const bounded = <T>(p: Promise<T>, what: string): Promise<T> =>
    withTimeout(p, link.timeoutMs, () => redisUnreachable(link.url, `no answer while ${what}; resubmit the same command once Redis is back (finished shards are kept)`, link.timeoutMs));
  const queue = new Queue(identity.model, { connection, prefix: SHARD_QUEUE_PREFIX });
  const events = new QueueEvents(identity.model, { connection, prefix: SHARD_QUEUE_PREFIX });
  const client = link.client();
  let failure: unknown;
  queue.on('error', () => undefined);
  events.on('error', () => undefined);

  const pending = new Map<number, ShardSpec>();
  const inFlight = new Map<number, number>();
  const attemptsSeen = new Map<number, number>();
  const workers = new Set<string>();
  let imagesWritten = 0;
  let skipped = 0;
  let liveWorkers = 0;
  let wake: () => void = () => undefined;
  const report = (): void =>
    o.onProgress?.({
      images: o.options.count,
      imagesDone: imagesWritten + [...inFlight.values()].reduce((a, b) => a + b, 0),
      shards: shards.length,
      shardsDone: shards.length - pending.size,
      workers: liveWorkers,
    });
  const fail = (e: unknown): void => {
    failure ??= e;
    wake();
  };

  // Shards are written one at a time, in the order they complete.
  let writing = Promise.resolve();
  const collecting = new Set<number>();
  const collect = (index: number): void => {
    const shard = pending.get(index);
    if (!shard || collecting.has(index)) return;
    collecting.add(index);
    writing = writing
      .then(async () => {
        if (failure) return;
        const job = await bounded(queue.getJob(jobId(shard)), `reading shard ${index}`);
        const r = job?.returnvalue as ShardResult | undefined;
        if (!r || !Array.isArray(r.pngs) || r.pngs.length !== shard.count || r.labels?.length !== shard.count) {
          throw new FarmerError('FARMER_E_INTERNAL', `shard ${index} of run ${runId} came back without its ${shard.count} images`);
        }
        await o.write(shard, { pngs: r.pngs.map((b) => new Uint8Array(Buffer.from(b, 'base64'))), labels: r.labels, worker: r.worker });
        await bounded(client.multi().sadd(writtenKey, String(index)).expire(writtenKey, WRITTEN_TTL_SECONDS).exec(), `acknowledging shard ${index}`);
        if (o.acknowledge !== 'finished') await bounded(job!.remove(), `acknowledging shard ${index}`);
        workers.add(r.worker);
        pending.delete(index);
        inFlight.delete(index);
        imagesWritten += shard.count;
        report();
        wake();
      })
      .catch(fail);
  };

  const indexOf = (id: string): number | undefined => {
    if (!id.startsWith(`${runId}-`)) return undefined;
    const i = Number(id.slice(runId.length + 1));
    return pending.has(i) ? i : undefined;
  };
  const noticeAttempt = async (index: number): Promise<void> => {
    const job = await queue.getJob(jobId(pending.get(index)!));
    if (!job || job.attemptsMade <= (attemptsSeen.get(index) ?? 0)) return;
    attemptsSeen.set(index, job.attemptsMade);
    inFlight.delete(index);
    o.onNotice?.(`shard ${index}: attempt ${job.attemptsMade} failed (${job.failedReason}); retrying, possibly on another worker`);
  };
  events.on('completed', ({ jobId: id }) => {
    const i = indexOf(id);
    if (i !== undefined) collect(i);
  });
  events.on('failed', ({ jobId: id, failedReason }) => {
    const i = indexOf(id);
    if (i !== undefined) fail(errorFromReason(`shard ${i} of ${shards.length} (images ${pending.get(i)!.start}..) failed after its attempts`, failedReason));
  });
  events.on('progress', ({ jobId: id, data }) => {
    const i = indexOf(id);
    const images = (data as { images?: unknown } | undefined)?.images;
    if (i !== undefined && typeof images === 'number') {
      inFlight.set(i, Math.min(images, pending.get(i)!.count));
      report();
    }
  });
  events.on('stalled', ({ jobId: id }) => {
    const i = indexOf(id);
    if (i === undefined) return;
    inFlight.delete(i);
    o.onNotice?.(`shard ${i}: its worker stopped renewing its lock (killed, or blocked past the lock); the shard is back in the queue`);
  });
  events.on('delayed', ({ jobId: id }) => {
    const i = indexOf(id);
    if (i !== undefined) void noticeAttempt(i).catch(() => undefined);
  });
  const onAbort = (): void => fail(new FarmerError('FARMER_E_ABORTED', `interrupted; resubmit the same command to continue run ${runId} (finished shards are kept)`));
  o.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    await bounded(Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), 'connecting');
    const written = new Set(await bounded(client.smembers(writtenKey), 'reading the run'));
    for (const s of shards) {
      if (written.has(String(s.index)) && (o.alreadyWritten?.(s) ?? false)) skipped++;
      else pending.set(s.index, s);
    }
    if (skipped) o.onNotice?.(`run ${runId}: ${skipped} of ${shards.length} shards were written by an earlier submission; skipping them`);
    imagesWritten = shards.filter((s) => !pending.has(s.index)).reduce((a, s) => a + s.count, 0);

    // Find what an earlier submission left in Redis: finished, failed, or still queued or running.
    const existing = await bounded(inChunks([...pending.values()], (s) => queue.getJob(jobId(s))), 'reading the run');
    const toAdd: ShardSpec[] = [];
    const states = await bounded(inChunks(existing, (job) => (job ? job.getState() : Promise.resolve('missing'))), 'reading the run');
    let retried = 0;
    for (const [k, s] of [...pending.values()].entries()) {
      const state = states[k];
      if (state === 'missing' || state === 'unknown') toAdd.push(s);
      else if (state === 'completed') collect(s.index);
      else if (state === 'failed') {
        await bounded(existing[k]!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }), 'retrying a failed shard');
        retried++;
      }
    }
    if (retried) o.onNotice?.(`run ${runId}: retrying ${retried} shard(s) that failed before`);
    const settings = shardSettings(o.options);
    const labels = o.options.labels;
    await bounded(
      inChunks(toAdd, (s) => {
        const data: ShardJobData = { kind: 'shard', identity, run: runId, shard: s.index, start: s.start, count: s.count, seed: o.options.seed, labels: labels ? labels.slice(s.start, s.start + s.count) : null, settings };
        return queue.add('shard', data, { jobId: jobId(s), attempts: o.attempts ?? 5, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false });
      }),
      'queueing shards',
    );
    liveWorkers = await bounded(queue.getWorkersCount(), 'counting workers');
    report();

    // Wait for every shard, checking the workers (and Redis) every poll, and the shards' states now and then in case an event was missed.
    let polls = 0;
    let toldNoWorkers = false;
    while (pending.size > 0 && !failure) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, o.pollMs ?? 2000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (failure || pending.size === 0) break;
      liveWorkers = await bounded(queue.getWorkersCount(), 'counting workers');
      if (liveWorkers === 0 && !toldNoWorkers) {
        toldNoWorkers = true;
        o.onNotice?.(`no worker is taking jobs of model '${identity.model}' yet; start one with: farmer worker --redis URL --models DIR`);
      }
      if (++polls % 5 === 0) {
        const left = [...pending.values()].filter((s) => !collecting.has(s.index));
        const now = await bounded(inChunks(left, async (s) => (await queue.getJob(jobId(s)))?.getState() ?? 'missing'), 'checking shards');
        left.forEach((s, k) => {
          if (now[k] === 'completed') collect(s.index);
          else if (now[k] === 'failed') void queue.getJob(jobId(s)).then((j) => fail(errorFromReason(`shard ${s.index} failed after its attempts`, j?.failedReason)));
          else if (now[k] === 'missing') fail(new FarmerError('FARMER_E_INTERNAL', `shard ${s.index} of run ${runId} vanished from Redis (removed by hand, or Redis lost its data); resubmit the same command`));
        });
      }
      report();
    }
    await writing;
    if (failure) throw failure;
    if (o.acknowledge === 'finished') await bounded(inChunks(shards, async (s) => (await queue.getJob(jobId(s)))?.remove()), 'removing the results');
    return { runId, shards: shards.length, skipped, workers: [...workers].sort(), seconds: (performance.now() - t0) / 1000 };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await Promise.allSettled([withTimeout(events.close(), 1000, () => new Error('close')), withTimeout(queue.close(), 1000, () => new Error('close'))]);
    client.disconnect();
  }
}
