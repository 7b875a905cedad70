import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng, initBackend, isFarmerError, sliceImages } from '@farmer/core';
import { builtinModelDir } from '@farmer/models';
import { openModel, type OpenedModel } from '@farmer/runtime';
import { generate, resolveGenerateOptions } from '@farmer/sampling';
import { freePort, startRedisServer, type TestRedis } from '@farmer/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkpointHash, connectRedis, runShardedJob, startWorker, type ModelIdentity, type RunningWorker, type ShardImages, type ShardSpec } from '../src/index.js';

// Against a real redis-server on loopback (started here; .ci/run installs it). The built-in mnist-small.
let redis: TestRedis;
let model: OpenedModel;
let identity: ModelIdentity;
let work: string;
const workers: RunningWorker[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  await initBackend({ backend: 'wasm' });
  model = await openModel(builtinModelDir(), { runtime: 'onnx' });
  identity = { model: 'mnist-small', checkpointHash: await checkpointHash(model.dir), runtime: model.runtime };
  work = mkdtempSync(join(tmpdir(), 'farmer-queue-'));
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

afterAll(async () => {
  await model?.close();
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function worker(options: { models?: string; runtime?: 'onnx' | 'tfjs' } = {}): Promise<RunningWorker> {
  const w = await startWorker({ redis: redis.url, models: options.models ?? builtinModelDir(), runtime: options.runtime ?? 'onnx', threads: 1, id: `w${workers.length}` });
  workers.push(w);
  return w;
}

/** A sharded job of `count` unconditional images kept in memory, shard by shard. */
async function shardedJob(count: number, extra: { destination?: string; alreadyWritten?: (s: ShardSpec) => boolean; attempts?: number; seed?: number } = {}) {
  const options = resolveGenerateOptions(model.runner, { count, labels: null, seed: extra.seed ?? 9 });
  const got = new Map<number, ShardImages>();
  const notices: string[] = [];
  const r = await runShardedJob({
    link: await connectRedis(redis.url),
    identity,
    options,
    shardSize: 16,
    destination: extra.destination ?? `memory-${Math.random()}`,
    alreadyWritten: extra.alreadyWritten,
    attempts: extra.attempts,
    pollMs: 200,
    write: async (s, images) => void got.set(s.index, images),
    onNotice: (line) => notices.push(line),
  });
  return { r, got, notices, options };
}

describe('sharded jobs on workers', () => {
  it('give each image the bytes one process gives it; a resubmission skips the shards written', async () => {
    const w = await worker();
    const { r, got, options } = await shardedJob(40, { destination: 'resubmit' });
    expect([r.shards, r.skipped, r.workers]).toEqual([3, 0, [w.id]]);
    const one = await generate(model.runner, options);
    for (const [index, shard] of got) {
      shard.pngs.forEach((png, k) => {
        const i = index * 16 + k;
        expect(decodePng(png, 1).data, `image ${i}`).toEqual(sliceImages(one.images, i, 1).data);
      });
    }
    const again = await shardedJob(40, { destination: 'resubmit', alreadyWritten: () => true });
    expect([again.r.skipped, again.got.size]).toEqual([3, 0]);
    // Output gone (say, deleted): the shards are drawn again.
    const redo = await shardedJob(40, { destination: 'resubmit', alreadyWritten: (s) => s.index !== 1 });
    expect([redo.r.skipped, [...redo.got.keys()]]).toEqual([2, [1]]);
  });

  it('a worker on another runtime refuses the shards, and the worker that matches draws them all', async () => {
    const tfjs = await worker({ runtime: 'tfjs' });
    const onnx = await worker();
    const { r } = await shardedJob(96, { seed: 10 });
    expect(r.workers).toEqual([onnx.id]);
    expect(tfjs.stats.shards).toBe(0);
    expect(tfjs.stats.refused).toBeGreaterThan(0);
  });

  it('fails with the reasons when no worker can run the job: another runtime, or the model missing', async () => {
    await worker({ runtime: 'tfjs' });
    const refused = await shardedJob(16, { seed: 11 }).catch((e: unknown) => e);
    expect(isFarmerError(refused) && refused.code).toBe('FARMER_E_BACKEND');
    expect((refused as Error).message).toMatch(/no worker can run this job .* w0 refused, it runs on tfjs, the job asks for onnxruntime/);
    await workers.splice(0)[0].close();

    const broken = join(work, 'models');
    mkdirSync(join(broken, 'mnist-small'), { recursive: true }); // a folder of that name without a checkpoint
    const w = await worker({ models: broken });
    expect(w.models[0].error).toBeDefined();
    const missing = await shardedJob(16, { seed: 12, attempts: 1 }).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/cannot open model 'mnist-small'/);
  });
});

describe('an unreachable Redis', () => {
  it('is FARMER_E_BACKEND within the probe timeout, naming the URL without its password', async () => {
    const url = `redis://:hunter2@127.0.0.1:${await freePort()}`;
    const t0 = performance.now();
    const e = await connectRedis(url, { timeoutMs: 2000 }).catch((err: unknown) => err);
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(isFarmerError(e) && e.code).toBe('FARMER_E_BACKEND');
    expect((e as Error).message).toContain('redis://:***@127.0.0.1:');
    expect((e as Error).message).not.toContain('hunter2');
    // A host that never answers (a blackholed address): the probe's own bound applies.
    const t1 = performance.now();
    const slow = await connectRedis('redis://10.255.255.1:6379', { timeoutMs: 1000 }).catch((err: unknown) => err);
    expect(performance.now() - t1).toBeLessThan(1800);
    expect((slow as Error).message).toMatch(/cannot use Redis at redis:\/\/10\.255\.255\.1:6379 \(waited at most 1 s\)/);
    await expect(startWorker({ redis: url, redisTimeoutMs: 1000 })).rejects.toThrow(/cannot use Redis at redis:\/\/:\*\*\*@/);
  });
});
