import { FarmerError } from '@farmer/core';
import type { ResolvedGenerateOptions } from '@farmer/sampling';
import type { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX, type ShardJobData, type ShardResult, type ShardSettings } from './job-data.js';
import { errorFromReason } from './job-errors.js';
import { redisLost } from './redis-connection.js';
import type { RedisHealth } from './redis-health.js';
import type { ShardSpec } from './shard-plan.js';
import type { ShardedJobOptions } from './sharded-job-options.js';
import type { ShardedRun } from './sharded-run.js';

/** What the steps of one submission share: its options, its state, and its connections to Redis. */
export interface RunContext {
  readonly o: ShardedJobOptions;
  readonly run: ShardedRun;
  readonly queue: Queue;
  readonly events: QueueEvents;
  /** For the run's record of written shards. */
  readonly client: Redis;
  readonly health: RedisHealth;
  /** `p`, or FARMER_E_BACKEND once Redis has not answered within the link's timeout. */
  bounded<T>(p: Promise<T>, what: string): Promise<T>;
}

const WRITTEN_TTL_SECONDS = 7 * 24 * 3600;
const CHUNK = 200;

/** The Redis set of the shards of a run recorded as written. */
const writtenKey = (runId: string): string => `${QUEUE_PREFIX}:runs:${runId}:written`;

async function inChunks<T, R>(items: readonly T[], f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(...(await Promise.all(items.slice(i, i + CHUNK).map(f))));
  return out;
}

/** The per-shard settings: the resolved options minus what each shard sets itself. */
function shardSettings(o: ResolvedGenerateOptions): ShardSettings {
  const { count: _count, labels: _labels, seed: _seed, ...settings } = o;
  return settings;
}

/** What a submitter that lost Redis for good tells its user. */
export function lostRedis(ctx: RunContext, graceMs: number): FarmerError {
  const { run, health } = ctx;
  const done = run.shards.length - run.pending.size;
  return redisLost(
    ctx.o.link.url,
    health.lastError ?? 'no answer',
    graceMs,
    `run ${run.runId} stopped with ${done} of ${run.shards.length} shards done; resubmit the same command once Redis is back to continue it (finished shards are kept)`,
  );
}

/**
 * Hands a finished shard's images to `write`, then acknowledges it: records
 * it as written, and removes its job unless results stay until the end.
 * Shards are written one at a time ({@link ShardedRun.writing}).
 */
export function collectShard(ctx: RunContext, index: number): void {
  const { run, o } = ctx;
  const shard = run.pending.get(index);
  if (!shard || run.collecting.has(index)) return;
  run.collecting.add(index);
  run.writing = run.writing
    .then(async () => {
      if (run.failure) return;
      const job = await ctx.bounded(ctx.queue.getJob(run.jobId(shard)), `reading shard ${index}`);
      const r = job?.returnvalue as ShardResult | undefined;
      if (!r || !Array.isArray(r.pngs) || r.pngs.length !== shard.count || r.labels?.length !== shard.count) {
        throw new FarmerError('FARMER_E_INTERNAL', `shard ${index} of run ${run.runId} came back without its ${shard.count} images`);
      }
      await o.write(shard, { pngs: r.pngs.map((b) => new Uint8Array(Buffer.from(b, 'base64'))), labels: r.labels, worker: r.worker });
      const key = writtenKey(run.runId);
      await ctx.bounded(ctx.client.multi().sadd(key, String(index)).expire(key, WRITTEN_TTL_SECONDS).exec(), `acknowledging shard ${index}`);
      if (o.acknowledge !== 'finished') await ctx.bounded(job!.remove(), `acknowledging shard ${index}`);
      run.written(shard, r.worker);
    })
    .catch((e: unknown) => run.fail(e));
}

/** Tells about a shard's failed attempt once (BullMQ retries it after its backoff). */
async function noticeAttempt(ctx: RunContext, index: number): Promise<void> {
  const { run } = ctx;
  const job = await ctx.bounded(ctx.queue.getJob(run.jobId(index)), `reading shard ${index}`);
  if (!job || job.attemptsMade <= (run.attemptsSeen.get(index) ?? 0)) return;
  run.attemptsSeen.set(index, job.attemptsMade);
  run.inFlight.delete(index);
  ctx.o.onNotice?.(`shard ${index}: attempt ${job.attemptsMade} failed (${job.failedReason}); retrying, possibly on another worker`);
}

/** Follows the shard queue's events: finished shards are collected, failed ones fail the run, progress and stalls are told. */
export function listenForShards(ctx: RunContext): void {
  const { run, events } = ctx;
  events.on('completed', ({ jobId }) => {
    const i = run.indexOf(jobId);
    if (i !== undefined) collectShard(ctx, i);
  });
  events.on('failed', ({ jobId, failedReason }) => {
    const i = run.indexOf(jobId);
    if (i !== undefined) run.fail(errorFromReason(`shard ${i} of ${run.shards.length} (images ${run.pending.get(i)!.start}..) failed after its attempts`, failedReason));
  });
  events.on('progress', ({ jobId, data }) => {
    const i = run.indexOf(jobId);
    const images = (data as { images?: unknown } | undefined)?.images;
    if (i !== undefined && typeof images === 'number') {
      run.inFlight.set(i, Math.min(images, run.pending.get(i)!.count));
      run.report();
    }
  });
  events.on('stalled', ({ jobId }) => {
    const i = run.indexOf(jobId);
    if (i === undefined) return;
    run.inFlight.delete(i);
    ctx.o.onNotice?.(`shard ${i}: its worker stopped renewing its lock (killed, or blocked past the lock); the shard is back in the queue`);
  });
  events.on('delayed', ({ jobId }) => {
    const i = run.indexOf(jobId);
    if (i !== undefined) void noticeAttempt(ctx, i).catch(() => undefined);
  });
}

/**
 * Takes up what an earlier submission of the run left: shards recorded as
 * written whose output is still there are skipped, finished ones collected,
 * failed ones retried, queued or running ones awaited. Returns the shards
 * to queue.
 */
export async function resumeRun(ctx: RunContext): Promise<ShardSpec[]> {
  const { run, o, queue } = ctx;
  const written = new Set(await ctx.bounded(ctx.client.smembers(writtenKey(run.runId)), 'reading the run'));
  for (const s of run.shards) {
    if (written.has(String(s.index)) && (o.alreadyWritten?.(s) ?? false)) run.skipped++;
    else run.pending.set(s.index, s);
  }
  if (run.skipped) o.onNotice?.(`run ${run.runId}: ${run.skipped} of ${run.shards.length} shards were written by an earlier submission; skipping them`);
  run.imagesWritten = run.shards.filter((s) => !run.pending.has(s.index)).reduce((a, s) => a + s.count, 0);

  const left = [...run.pending.values()];
  const existing = await ctx.bounded(inChunks(left, (s) => queue.getJob(run.jobId(s))), 'reading the run');
  const states = await ctx.bounded(inChunks(existing, (job) => (job ? job.getState() : Promise.resolve('missing'))), 'reading the run');
  const toAdd: ShardSpec[] = [];
  let retried = 0;
  for (const [k, s] of left.entries()) {
    const state = states[k];
    if (state === 'missing' || state === 'unknown') toAdd.push(s);
    else if (state === 'completed') collectShard(ctx, s.index);
    else if (state === 'failed') {
      await ctx.bounded(existing[k]!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }), 'retrying a failed shard');
      retried++;
    }
  }
  if (retried) o.onNotice?.(`run ${run.runId}: retrying ${retried} shard(s) that failed before`);
  return toAdd;
}

/** Queues one job per shard, carrying the model's identity and the shard's seeds and labels. */
export async function queueShards(ctx: RunContext, shards: readonly ShardSpec[]): Promise<void> {
  const { run, o } = ctx;
  const settings = shardSettings(o.options);
  const { labels, seed } = o.options;
  await ctx.bounded(
    inChunks(shards, (s) => {
      const data: ShardJobData = { kind: 'shard', identity: o.identity, run: run.runId, shard: s.index, start: s.start, count: s.count, seed, labels: labels ? labels.slice(s.start, s.start + s.count) : null, settings };
      return ctx.queue.add('shard', data, { jobId: run.jobId(s), attempts: o.attempts ?? 5, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false });
    }),
    'queueing shards',
  );
}

/** Looks at the shards not being collected, in case an event was missed: finished ones are collected, failed or vanished ones fail the run. */
async function checkShards(ctx: RunContext): Promise<void> {
  const { run, queue } = ctx;
  const left = [...run.pending.values()].filter((s) => !run.collecting.has(s.index));
  const jobs = await ctx.bounded(inChunks(left, (s) => queue.getJob(run.jobId(s))), 'checking shards');
  const states = await ctx.bounded(inChunks(jobs, async (job) => (job ? job.getState() : 'missing')), 'checking shards');
  left.forEach((s, k) => {
    if (states[k] === 'completed') collectShard(ctx, s.index);
    else if (states[k] === 'failed') run.fail(errorFromReason(`shard ${s.index} failed after its attempts`, jobs[k]?.failedReason));
    else if (states[k] === 'missing') run.fail(new FarmerError('FARMER_E_INTERNAL', `shard ${s.index} of run ${run.runId} vanished from Redis (removed by hand, or Redis lost its data); resubmit the same command`));
  });
}

/**
 * Waits until every shard is written or the run fails, checking every poll
 * the workers (and telling when there are none), and now and then the
 * shards. A Redis that goes away gets the link's timeout to come back
 * (commands are not sent meanwhile: they would only wait); after that the
 * run fails with FARMER_E_BACKEND.
 */
export async function waitForShards(ctx: RunContext): Promise<void> {
  const { run, o, health, queue } = ctx;
  const pollMs = o.pollMs ?? 2000;
  const graceMs = o.link.timeoutMs;
  let polls = 0;
  let toldNoWorkers = false;
  while (!run.finished) {
    const downSince = health.downSince;
    await run.sleep(downSince === undefined ? pollMs : Math.max(0, Math.min(pollMs, downSince + graceMs - Date.now())));
    if (run.finished) break;
    const stillDown = health.downSince;
    if (stillDown !== undefined) {
      if (Date.now() - stillDown >= graceMs) run.fail(lostRedis(ctx, graceMs));
      continue;
    }
    run.liveWorkers = await ctx.bounded(queue.getWorkersCount(), 'counting workers');
    if (run.liveWorkers === 0 && !toldNoWorkers) {
      toldNoWorkers = true;
      o.onNotice?.(`no worker is taking jobs of model '${o.identity.model}' yet; start one with: farmer worker --redis URL --models DIR`);
    }
    if (++polls % 5 === 0) await checkShards(ctx);
    run.report();
  }
}

/** Removes every shard's job (results kept in Redis until the whole run was collected). */
export async function removeShardJobs(ctx: RunContext): Promise<void> {
  const { run } = ctx;
  await ctx.bounded(inChunks(run.shards, async (s) => (await ctx.queue.getJob(run.jobId(s)))?.remove()), 'removing the results');
}
