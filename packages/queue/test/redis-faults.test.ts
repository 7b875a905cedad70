import { initBackend, isFarmerError } from '@farmer/core';
import { builtinModelDir } from '@farmer/models';
import { openModel, type OpenedModel } from '@farmer/runtime';
import { resolveGenerateOptions } from '@farmer/sampling';
import { startRedisServer, watchOpenHandles, type HandleMark, type OpenHandleWatch, type TestRedis } from '@farmer/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkpointHash, connectRedis, EVENTS_BLOCKING_TIMEOUT_MS, RemoteGenerator, runShardedJob, startWorker, type ModelIdentity, type RunningWorker, type ShardedProgress } from '../src/index.js';

// Redis killed (SIGKILL) and brought back on its port, under a submitter, a worker and a server's
// remote generator, each against a redis-server of its own (started here; .ci/run installs it).
// Whatever Redis does, each must end within its bound and leave no connection or timer behind.
const PASSWORD = 'hunter2-fault';
let model: OpenedModel;
let identity: ModelIdentity;
const servers: TestRedis[] = [];
const workers: RunningWorker[] = [];

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  model = await openModel(builtinModelDir(), { runtime: 'onnx' });
  identity = { model: 'mnist-small', checkpointHash: await checkpointHash(model.dir), runtime: model.runtime };
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close(1000)));
  await Promise.all(servers.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  await model?.close();
});

async function redisServer(options: { port?: number; password?: string } = {}): Promise<TestRedis> {
  const r = await startRedisServer(options);
  servers.push(r);
  return r;
}

// Sockets and timers: whatever a test opens must be gone once what it tests has closed.
let handles: OpenHandleWatch;
beforeAll(() => void (handles = watchOpenHandles()));
afterAll(() => handles.stop());

/** The watch's uncounted wait, resolving to 'timeout' (to race a close with). */
const sleep = async (ms: number): Promise<'timeout'> => (await handles.sleep(ms), 'timeout');
const until = (check: () => boolean, ms: number, what: string): Promise<void> => handles.until(check, ms, what);

/**
 * Nothing opened since `since` is still open, after time for BullMQ's guard on a QueueEvents
 * read that a lost connection never answers (a timer of EVENTS_BLOCKING_TIMEOUT_MS + 1 s, then
 * nothing) or `ms`.
 */
const nothingLeftOpen = (since: HandleMark, ms = EVENTS_BLOCKING_TIMEOUT_MS + 2000): Promise<void> => handles.nothingLeftOpen(since, ms);

/** A sharded job of `count` images kept in memory; `onProgress` sees its progress. */
async function shardedJob(url: string, count: number, shardSize: number, onProgress: (p: ShardedProgress) => void, seed = 3) {
  const options = resolveGenerateOptions(model.runner, { count, labels: null, seed });
  return runShardedJob({ link: await connectRedis(url), identity, options, shardSize, destination: `memory-${Math.random()}`, pollMs: 200, write: async () => undefined, onProgress });
}

describe('Redis lost in the middle of a sharded job', () => {
  it('the submitter fails with FARMER_E_BACKEND once Redis stays away past its grace, naming Redis without its password, and leaves nothing open', async () => {
    const redis = await redisServer({ password: PASSWORD });
    const baseline = handles.mark();
    let killedAt = 0;
    // No worker takes the shards: they wait in Redis while the submitter polls, as in the middle of any job.
    const e = await shardedJob(redis.url, 64, 16, () => {
      if (killedAt) return;
      killedAt = performance.now();
      void redis.kill();
    }).catch((err: unknown) => err);
    const seconds = (performance.now() - killedAt) / 1000;
    expect(killedAt).toBeGreaterThan(0);
    expect(isFarmerError(e) && e.code, String(e)).toBe('FARMER_E_BACKEND');
    const message = (e as Error).message;
    expect(message).toMatch(/^lost Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/? and it did not come back within 5 s \(.*ECONNREFUSED.*\); run \w+ stopped with 0 of 4 shards done; resubmit the same command once Redis is back/);
    expect(message).not.toContain(PASSWORD);
    // The grace (the link's 5 s timeout), one poll, and slack for a loaded machine.
    expect(seconds).toBeGreaterThan(4.5);
    expect(seconds).toBeLessThan(9);
    await nothingLeftOpen(baseline);
  });

  it('Redis lost while a shard is being written: its acknowledgement waits for Redis within the grace, then the same FARMER_E_BACKEND', async () => {
    const redis = await redisServer();
    workers.push(await startWorker({ redis: redis.url, models: builtinModelDir(), runtime: 'onnx', threads: 1 }));
    const baseline = handles.mark();
    const options = resolveGenerateOptions(model.runner, { count: 32, labels: null, seed: 4 });
    // The first shard's write kills Redis: recording it as written then finds no Redis.
    const e = await runShardedJob({ link: await connectRedis(redis.url), identity, options, shardSize: 16, destination: `memory-${Math.random()}`, pollMs: 200, write: () => redis.kill() }).catch((err: unknown) => err);
    expect(isFarmerError(e) && e.code, String(e)).toBe('FARMER_E_BACKEND');
    expect((e as Error).message).toMatch(/^lost Redis at redis:\/\/127\.0\.0\.1:\d+\/? and it did not come back within 5 s .*; run \w+ stopped with 0 of 2 shards done; resubmit/);
    await workers.splice(0)[0].close(1000);
    await nothingLeftOpen(baseline);
  });

  it('a worker holding a shard closes within its timeout while Redis is down, and leaves nothing open', async () => {
    const redis = await redisServer();
    const baseline = handles.mark();
    const w = await startWorker({ redis: redis.url, models: builtinModelDir(), runtime: 'onnx', threads: 1 });
    workers.push(w);
    let killed = false;
    // One shard of 64 images, drawn in 4 batches: the first batch's progress comes while the worker holds the shard.
    const job = shardedJob(redis.url, 64, 64, (p) => {
      if (killed || p.imagesDone === 0) return;
      killed = true;
      void redis.kill();
    }).catch((err: unknown) => err);
    await until(() => killed, 60_000, 'the shard to start');
    await sleep(300);
    const t0 = performance.now();
    const stop = await Promise.race([w.close(1500), sleep(15_000)]);
    const seconds = (performance.now() - t0) / 1000;
    expect(stop, 'close() did not return within 15 s').not.toBe('timeout');
    expect(stop).toMatchObject({ finished: false });
    expect(seconds).toBeLessThan(3);
    expect(isFarmerError(await job, 'FARMER_E_BACKEND')).toBe(true);
    // The abandoned pass ends on its own (its model is freed then); the connections are gone at once.
    await nothingLeftOpen(baseline, 10_000);
  });

  it('a worker closing while Redis answers lets its held shard finish and be acknowledged; another worker draws the rest', async () => {
    const redis = await redisServer();
    const first = await startWorker({ redis: redis.url, models: builtinModelDir(), runtime: 'onnx', threads: 1, id: 'first' });
    let stopping: Promise<unknown> | undefined;
    let second: Promise<RunningWorker> | undefined;
    const r = await shardedJob(redis.url, 128, 64, (p) => {
      if (stopping || p.imagesDone === 0) return;
      stopping = first.close(30_000);
      second = startWorker({ redis: redis.url, models: builtinModelDir(), runtime: 'onnx', threads: 1, id: 'second' });
      void second.then((w) => workers.push(w));
    });
    expect(await stopping).toEqual({ finished: true, running: 0 });
    expect(first.stats.shards).toBe(1);
    expect(r.workers).toEqual(['first', 'second']);
  });
});

describe("a server's remote generator", () => {
  it('sees Redis go and come back, and closes within its bound while Redis is down, failing the request still waiting', async () => {
    const redis = await redisServer();
    const baseline = handles.mark();
    const remote = await RemoteGenerator.connect(redis.url, { maxQueued: 8 });
    await until(() => remote.health?.up === true, 5000, 'the generator to connect');
    const id = await remote.identity('mnist-small', builtinModelDir(), model.runtime);
    // No worker: the request waits for an answer.
    const waiting = remote.generate(id, { count: 1, labels: 3, seed: 1 } as never, 16).catch((e: unknown) => e);
    const t0 = Date.now();
    while ((await remote.depth('mnist-small')).waiting === 0 && Date.now() - t0 < 5000) await sleep(20);

    await redis.kill();
    await until(() => remote.health.up === false, 3000, 'the generator to see Redis gone');
    const back = await redisServer({ port: redis.port });
    await until(() => remote.health.up, 5000, 'the generator to see Redis back');
    await back.kill();
    await until(() => !remote.health.up, 3000, 'the generator to see Redis gone again');

    const t1 = performance.now();
    expect(await Promise.race([remote.close(500), sleep(15_000)]), 'close() did not return within 15 s').not.toBe('timeout');
    expect((performance.now() - t1) / 1000).toBeLessThan(2);
    const e = await waiting;
    expect(isFarmerError(e, 'FARMER_E_BACKEND'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/shutting down before a worker answered/);
    await nothingLeftOpen(baseline);
  });
});
