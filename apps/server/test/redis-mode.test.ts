import { builtinModelDir } from '@farmer/models';
import { startWorker, type RunningWorker } from '@farmer/queue';
import { startRedisServer, watchOpenHandles, type TestRedis } from '@farmer/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/index.js';
import { http, until } from './helpers.js';

// `farmer serve --redis`: generate requests run on farmer workers through a real redis-server on loopback
// (started here; .ci/run installs it). The built-in mnist-small on onnxruntime.
let redis: TestRedis;
const servers: RunningServer[] = [];
const workers: RunningWorker[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

afterAll(async () => {
  await redis?.stop();
});

async function serve(options: { redis?: string; queueSize?: number; shutdownTimeoutMs?: number } = {}): Promise<{ server: RunningServer; gen: string }> {
  const server = await startServer({ models: builtinModelDir(), runtime: 'onnx', port: 0, logger: false, processMetrics: false, ...options });
  servers.push(server);
  return { server, gen: `${server.url}/v1/models/mnist-small/generate` };
}

async function worker(): Promise<RunningWorker> {
  // A 50 ms batch window: the worker fetches its jobs one by one, and a loaded CI machine is slow to.
  const w = await startWorker({ redis: redis.url, models: builtinModelDir(), runtime: 'onnx', threads: 1, concurrency: 4, batchWindowMs: 50 });
  workers.push(w);
  return w;
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

interface GenerateAnswer {
  images: { png: string; label: number; seed: string }[];
  runtime: string;
  batch?: { requests: number };
}

describe('farmer serve --redis', () => {
  it('answers generate requests with the bytes of the in-process server; compatible requests queued together share a worker pass', async () => {
    const bodies = [
      { count: 3, labels: [1, 4, 7], seed: 11 },
      { count: 2, seed: 12, sampler: 'decoupled' },
      { count: 4, labels: 2, seed: 13 },
    ];
    const local = await serve();
    const expected = await Promise.all(bodies.map(async (b) => (await http('POST', local.gen, { body: b })).json<GenerateAnswer>()));

    const remote = await serve({ redis: redis.url, queueSize: 8 });
    // Queued before any worker listens: the worker takes them at once and batches the compatible ones.
    const answers = Promise.all(bodies.map((b) => http('POST', remote.gen, { body: b })));
    await until(() => remote.server.app.farmer.remote!.pending === 3, 10_000, 'three queued requests');
    await new Promise((r) => setTimeout(r, 300));
    const w = await worker();
    const got = await answers;
    for (const [i, r] of got.entries()) {
      expect(r.status, r.body.toString()).toBe(200);
      const a = r.json<GenerateAnswer>();
      expect(a.runtime).toBe('onnxruntime');
      expect(a.images.map((im) => [im.label, im.seed, im.png])).toEqual(expected[i].images.map((im) => [im.label, im.seed, im.png]));
    }
    // Requests 0 and 2 (CFG with labels) are compatible; request 1 (decoupled) is not.
    expect(got[0].json<GenerateAnswer>().batch?.requests).toBe(2);
    expect(got[2].json<GenerateAnswer>().batch?.requests).toBe(2);
    expect(got[1].json<GenerateAnswer>().batch?.requests).toBe(1);
    expect(w.stats).toMatchObject({ requests: 3, passes: 2, refused: 0, failed: 0 });
  });

  it('a full Redis queue is a 429 with Retry-After; /metrics shows the queue depth and the workers', async () => {
    const { server, gen } = await serve({ redis: redis.url, queueSize: 1 });
    // No worker yet: the first request waits in Redis, the second finds the queue full.
    const first = http('POST', gen, { body: { count: 1, labels: 3, seed: 1 } });
    const depth = async (): Promise<string> => (await http('GET', `${server.url}/metrics`)).body.toString();
    const t0 = Date.now();
    let scrape = await depth();
    while (metric(scrape, 'farmer_redis_queue_depth{model="mnist-small"}') !== 1 && Date.now() - t0 < 10_000) scrape = await depth();
    expect(metric(scrape, 'farmer_redis_queue_depth{model="mnist-small"}')).toBe(1);
    expect(metric(scrape, 'farmer_redis_workers{model="mnist-small"}')).toBe(0);

    const refused = await http('POST', gen, { body: { count: 1, labels: 4, seed: 2 } });
    expect(refused.status).toBe(429);
    expect(refused.json().error.code).toBe('FARMER_E_BUSY');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    await worker();
    expect((await first).status).toBe(200);
    scrape = await depth();
    expect(metric(scrape, 'farmer_redis_queue_depth{model="mnist-small"}')).toBe(0);
    expect(metric(scrape, 'farmer_redis_workers{model="mnist-small"}')).toBe(1);
    expect((await http('POST', gen, { body: { count: 1, labels: 4, seed: 2 } })).status).toBe(200);
  });

  it('Redis unreachable at start: FARMER_E_BACKEND naming the URL without its password', async () => {
    await expect(startServer({ models: builtinModelDir(), runtime: 'onnx', port: 0, logger: false, redis: 'redis://:hunter2@127.0.0.1:1' })).rejects.toThrow(/cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
  });
});

describe('farmer serve --redis when Redis goes away', () => {
  // Each against a redis-server of its own, killed (SIGKILL) and brought back on its port here.
  const own: TestRedis[] = [];
  afterEach(async () => {
    await Promise.all(own.splice(0).map((r) => r.stop()));
  });
  const ownRedis = async (port?: number): Promise<TestRedis> => {
    const r = await startRedisServer({ port });
    own.push(r);
    return r;
  };
  /** /readyz's status and body, once it says `status` (or after `ms`). */
  const readyzOnce = async (url: string, status: number, ms: number): Promise<{ status: number; body: { status: string } }> => {
    const t0 = Date.now();
    for (;;) {
      const r = await http('GET', `${url}/readyz`);
      if (r.status === status || Date.now() - t0 > ms) return { status: r.status, body: r.json() };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('/readyz is 503 redis-unreachable while Redis is down, and 200 again once it is back', async () => {
    const redisOwn = await ownRedis();
    const { server } = await serve({ redis: redisOwn.url });
    expect(await readyzOnce(server.url, 200, 5000)).toEqual({ status: 200, body: expect.objectContaining({ status: 'ready' }) });
    await redisOwn.kill();
    expect(await readyzOnce(server.url, 503, 5000)).toEqual({ status: 503, body: expect.objectContaining({ status: 'redis-unreachable' }) });
    await ownRedis(redisOwn.port);
    expect(await readyzOnce(server.url, 200, 10_000)).toEqual({ status: 200, body: expect.objectContaining({ status: 'ready' }) });
  });

  it('closes within its shutdown timeout while Redis is down, answering the request still waiting 503, and leaves nothing open', async () => {
    const handles = watchOpenHandles();
    try {
      const redisOwn = await ownRedis();
      const before = handles.mark();
      const { server, gen } = await serve({ redis: redisOwn.url, shutdownTimeoutMs: 1000 });
      // No worker: the request waits in Redis for one.
      const waiting = http('POST', gen, { body: { count: 1, labels: 3, seed: 1 } }).catch((e: Error) => e);
      await handles.until(() => server.app.farmer.remote!.pending === 1, 10_000, 'the request to wait');
      await handles.sleep(300);
      await redisOwn.kill();
      const t0 = performance.now();
      const closed = await Promise.race([server.close().then(() => 'closed'), handles.sleep(20_000)]);
      const seconds = (performance.now() - t0) / 1000;
      expect(closed, 'close() did not return within 20 s').toBe('closed');
      // The 1 s timeout, a second for the Redis connections, and slack for a loaded machine.
      expect(seconds).toBeLessThan(3);
      const answer = await waiting;
      if (answer instanceof Error) throw new Error(`the waiting request got no answer: ${answer.message}`);
      expect(answer.status).toBe(503);
      expect(answer.json().error.code).toBe('FARMER_E_BACKEND');
      await handles.nothingLeftOpen(before, 5000);
    } finally {
      handles.stop();
    }
  });
});
