import { FarmerError } from '@farmer/core';
import { Queue, QueueEvents } from 'bullmq';
import { EVENTS_BLOCKING_TIMEOUT_MS, RedisClients } from './redis-clients.js';
import { redisUnreachable, withTimeout } from './redis-connection.js';
import { watchRedis } from './redis-health.js';
import { SHARD_QUEUE_PREFIX } from './job-data.js';
import { planShards, shardedRunId } from './shard-plan.js';
import type { ShardedJobOptions } from './sharded-job-options.js';
import { listenForShards, lostRedis, queueShards, removeShardJobs, resumeRun, waitForShards, type RunContext } from './sharded-job-steps.js';
import { ShardedRun, type ShardedProgress } from './sharded-run.js';

export type { ShardedProgress } from './sharded-run.js';
export type { ShardedJobOptions, ShardImages } from './sharded-job-options.js';

/** What {@link runShardedJob} did: the run id, shard counts, the workers that drew them and the time. */
export interface ShardedJobResult {
  runId: string;
  shards: number;
  /** Shards written by an earlier submission of the same run. */
  skipped: number;
  /** Workers that drew this submission's shards. */
  workers: string[];
  seconds: number;
}

/** How long a closing submitter waits for BullMQ to close its connections cleanly while Redis answers, ms. */
const CLOSE_WAIT_MS = 1000;

/** The submission's connections: the shard queue, its events, a client for the run's record, and a watch on Redis. */
function connectRun(o: ShardedJobOptions, run: ShardedRun, clients: RedisClients): RunContext {
  const { link } = o;
  const queue = new Queue(o.identity.model, { connection: clients.connection(), prefix: SHARD_QUEUE_PREFIX });
  const events = new QueueEvents(o.identity.model, { connection: clients.connection(), prefix: SHARD_QUEUE_PREFIX, blockingTimeout: EVENTS_BLOCKING_TIMEOUT_MS });
  // Connection errors are followed through the watch; commands say theirs.
  queue.on('error', () => undefined);
  events.on('error', () => undefined);
  const client = clients.connection();
  const health = watchRedis(client);
  const ctx: RunContext = {
    o,
    run,
    queue,
    events,
    client,
    health,
    bounded: (p, what) =>
      withTimeout(p, link.timeoutMs, () =>
        health.up ? redisUnreachable(link.url, `no answer while ${what}; resubmit the same command once Redis is back (finished shards are kept)`, link.timeoutMs) : lostRedis(ctx, link.timeoutMs),
      ),
  };
  return ctx;
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
 * FarmerError code kept).
 *
 * Redis going away: every wait on it is bounded by the link's timeout, and
 * a Redis lost in the middle of the run gets that long to come back; then
 * the run fails with FARMER_E_BACKEND (the URL without its password, and
 * how to resume). Either way it resolves or rejects within its bounds and
 * leaves no connection open behind it.
 */
export async function runShardedJob(o: ShardedJobOptions): Promise<ShardedJobResult> {
  const t0 = performance.now();
  const shards = planShards(o.options.count, o.shardSize, o.options.batchSize);
  const run = new ShardedRun(shardedRunId(o.identity, o.options, o.shardSize, o.destination), shards, o.options.count, o.onProgress);
  const clients = new RedisClients(o.link);
  const ctx = connectRun(o, run, clients);
  const stopWatching = ctx.health.onChange(() => run.wake());
  const onAbort = (): void => run.fail(new FarmerError('FARMER_E_ABORTED', `interrupted; resubmit the same command to continue run ${run.runId} (finished shards are kept)`));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    listenForShards(ctx);
    await ctx.bounded(Promise.all([ctx.queue.waitUntilReady(), ctx.events.waitUntilReady()]), 'connecting');
    await queueShards(ctx, await resumeRun(ctx));
    run.liveWorkers = await ctx.bounded(ctx.queue.getWorkersCount(), 'counting workers');
    run.report();
    await waitForShards(ctx);
    await run.writing;
    if (run.failure) throw run.failure;
    if (o.acknowledge === 'finished') await removeShardJobs(ctx);
    return { runId: run.runId, shards: shards.length, skipped: run.skipped, workers: [...run.workers].sort(), seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    run.fail(e); // the shards queued for writing stop
    throw run.failure;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    stopWatching();
    await run.writing; // a shard being written gets its file in place (its waits on Redis are bounded)
    await clients.close([ctx.events.close(), ctx.queue.close()], ctx.health.up ? CLOSE_WAIT_MS : 0);
  }
}
