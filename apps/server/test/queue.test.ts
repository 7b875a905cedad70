import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type JobSettled, type RunningServer, type StartServerOptions } from '../src/index.js';
import { Gate, http, removeTmp, tmp, trainTinyCheckpoint, until } from './helpers.js';

let models: string;
const servers: RunningServer[] = [];

beforeAll(async () => {
  models = tmp();
  await trainTinyCheckpoint(join(models, 'tiny'));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

afterAll(removeTmp);

async function serve(options: Omit<StartServerOptions, 'models'> = {}): Promise<{ server: RunningServer; gen: string; settled: JobSettled[] }> {
  const settled: JobSettled[] = [];
  const server = await startServer({
    models,
    port: 0,
    logger: false,
    processMetrics: false,
    ...options,
    hooks: { ...options.hooks, onJobSettled: (j) => settled.push(j) },
  });
  servers.push(server);
  return { server, gen: `${server.url}/v1/models/tiny/generate`, settled };
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

describe('backpressure', () => {
  it('N concurrent requests against concurrency c and queue q: exactly N − q − c get 429 with Retry-After, the rest all finish', async () => {
    const gate = new Gate();
    const c = 2;
    const q = 3;
    const N = 10;
    const { server, gen, settled } = await serve({ concurrency: c, queueSize: q, hooks: { beforeJob: gate.hold } });
    const { queue } = server.app.farmer;
    const answers: { status: number; retryAfter?: string; code?: string }[] = [];
    const requests = Array.from({ length: N }, (_, i) =>
      http('POST', gen, { body: { count: 1, labels: i % 10, seed: i } }).then((r) => {
        answers.push({ status: r.status, retryAfter: r.headers['retry-after'] as string | undefined, code: r.status === 200 ? undefined : r.json().error.code });
        return r;
      }),
    );
    // While the gate holds: c jobs run, q wait, and every other request has been refused.
    await until(() => answers.length === N - q - c, 20_000, 'the 429s');
    expect(answers.every((a) => a.status === 429 && a.code === 'FARMER_E_BUSY')).toBe(true);
    for (const a of answers) expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
    expect([queue.running, queue.queued, gate.held]).toEqual([c, q, c]);
    const scrape = (await http('GET', `${server.url}/metrics`)).body.toString();
    expect(metric(scrape, 'farmer_queue_depth')).toBe(q);
    expect(metric(scrape, 'farmer_jobs_running')).toBe(c);
    expect(metric(scrape, 'farmer_queue_rejected_total{kind="generate"}')).toBe(N - q - c);

    gate.release();
    const all = await Promise.all(requests);
    expect(all.filter((r) => r.status === 429)).toHaveLength(N - q - c);
    expect(all.filter((r) => r.status === 200)).toHaveLength(q + c);
    expect(settled.map((s) => s.outcome)).toEqual(Array(q + c).fill('done'));
    expect([queue.running, queue.queued]).toEqual([0, 0]);
  });
});

describe('client disconnects', () => {
  it('a queued job whose client goes away is dropped; a running one is aborted; the queue drains', async () => {
    const gate = new Gate();
    const { server, gen, settled } = await serve({ concurrency: 1, queueSize: 4, hooks: { beforeJob: gate.hold } });
    const { queue } = server.app.farmer;
    const running = new AbortController();
    const queued = new AbortController();
    const a = http('POST', gen, { body: { count: 1, seed: 1 }, signal: running.signal }).catch((e: Error) => e.name);
    await until(() => queue.running === 1);
    const b = http('POST', gen, { body: { count: 1, seed: 2 }, signal: queued.signal }).catch((e: Error) => e.name);
    await until(() => queue.queued === 1);
    queued.abort();
    await until(() => settled.length === 1);
    expect(settled[0]).toMatchObject({ outcome: 'dropped', id: 2 });
    expect([queue.running, queue.queued]).toEqual([1, 0]);
    running.abort();
    await until(() => settled.length === 2);
    expect(settled[1]).toMatchObject({ outcome: 'aborted', id: 1 });
    expect([queue.running, queue.queued, gate.held]).toEqual([0, 0, 0]);
    expect(await a).toBe('AbortError');
    expect(await b).toBe('AbortError');
    const scrape = (await http('GET', `${server.url}/metrics`)).body.toString();
    expect(metric(scrape, 'farmer_jobs_total{kind="generate",outcome="dropped"}')).toBe(1);
    expect(metric(scrape, 'farmer_jobs_total{kind="generate",outcome="aborted"}')).toBe(1);
  });
});

describe('concurrency', () => {
  it('jobs interleaved at concurrency 3 give the same bytes as one at a time', async () => {
    const { server, gen } = await serve({ concurrency: 3, queueSize: 0 });
    const bodies = [
      { count: 2, labels: [1, 2], seed: 10 },
      { count: 3, labels: null, seed: 11 },
      { count: 1, labels: 5, seed: 12, sampler: 'naive-cfg' },
    ];
    const together = await Promise.all(bodies.map((body) => http('POST', gen, { body })));
    expect(together.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(server.app.farmer.queue.running).toBe(0);
    for (const [i, body] of bodies.entries()) {
      const alone = await http('POST', gen, { body });
      expect(alone.json().images, `request ${i}`).toEqual(together[i].json().images);
    }
  });
});

describe('dynamic batching', () => {
  it('concurrent requests with the same settings share one pass and still get their own images', async () => {
    const { gen } = await serve({ concurrency: 3, queueSize: 0 });
    const bodies = [
      { count: 2, labels: [1, 2], seed: 20 },
      { count: 1, labels: 7, seed: 21 },
      { count: 2, labels: [0, 9], seed: 22, imageSeeds: ['a', 'b'] },
    ];
    const together = await Promise.all(bodies.map((body) => http('POST', gen, { body })));
    expect(together.map((r) => r.status)).toEqual([200, 200, 200]);
    // One pass: every answer reports the same AR time, and its own labels and count.
    const ar = together.map((r) => r.json().timings.arSeconds);
    expect(new Set(ar).size).toBe(1);
    expect(together.map((r) => r.json().images.map((im: { label: number }) => im.label))).toEqual([[1, 2], [7], [0, 9]]);
    expect(together.map((r) => r.json().parameters.count)).toEqual([2, 1, 2]);
    for (const [i, body] of bodies.entries()) {
      const alone = await http('POST', gen, { body });
      expect(alone.json().images, `request ${i}`).toEqual(together[i].json().images);
    }
  });
});

describe('a long generation: off the request loop, and cancellable', () => {
  // One long generation (16 images in 4 passes) measured once, then cancelled halfway in a rerun.
  let fullSeconds = 0;

  it('/healthz answers quickly while a generation runs', async () => {
    const { server, gen, settled } = await serve({ batchSize: 4 });
    const job = http('POST', gen, { body: { count: 16, labels: 3, seed: 1 } });
    await until(() => server.app.farmer.queue.running === 1);
    const latencies: number[] = [];
    while (settled.length === 0) {
      const t0 = performance.now();
      const h = await http('GET', `${server.url}/healthz`);
      latencies.push(performance.now() - t0);
      expect(h.status).toBe(200);
      await new Promise((res) => setTimeout(res, 20));
    }
    expect((await job).status).toBe(200);
    fullSeconds = settled[0].runSeconds;
    latencies.sort((x, y) => x - y);
    const max = latencies[latencies.length - 1];
    console.log(`healthz during a ${fullSeconds.toFixed(2)} s generation: ${latencies.length} probes, median ${latencies[latencies.length >> 1].toFixed(1)} ms, max ${max.toFixed(1)} ms`);
    // Each await in the sampler yields; the longest synchronous stretch is one AR or AF step of a batch
    // (a few ms). A blocked loop would answer one probe after the whole generation. The max is loose:
    // parallel test files (and whatever else runs) share 2 cores and can deschedule this process.
    expect(latencies.length).toBeGreaterThanOrEqual(5);
    expect(latencies[latencies.length >> 1]).toBeLessThan(50);
    expect(max).toBeLessThan(1000);
  });

  it('a disconnect in the middle of a generation stops it between tokens, long before it would finish', async () => {
    expect(fullSeconds).toBeGreaterThan(0);
    const started: number[] = [];
    const { server, gen, settled } = await serve({ batchSize: 4, hooks: { beforeJob: () => void started.push(performance.now()) } });
    const ac = new AbortController();
    const r = http('POST', gen, { body: { count: 16, labels: 3, seed: 1 }, signal: ac.signal }).catch((e: Error) => e.name);
    await until(() => started.length === 1);
    await new Promise((res) => setTimeout(res, 50));
    ac.abort();
    expect(await r).toBe('AbortError');
    await until(() => settled.length === 1);
    expect(settled[0].outcome).toBe('aborted');
    expect(settled[0].runSeconds).toBeLessThan(fullSeconds / 2);
    expect(server.app.farmer.queue.running).toBe(0);
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, finishes the running and queued jobs, then closes', async () => {
    const gate = new Gate();
    const { server, gen, settled } = await serve({ concurrency: 1, queueSize: 2, hooks: { beforeJob: gate.hold } });
    const { queue } = server.app.farmer;
    const a = http('POST', gen, { body: { count: 1, seed: 1, format: 'png' } });
    await until(() => queue.running === 1);
    const b = http('POST', gen, { body: { count: 1, seed: 2, format: 'png' } });
    await until(() => queue.queued === 1);
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await until(() => server.app.farmer.state.closing);
    // New connections are refused while the in-flight ones finish.
    await expect(http('GET', `${server.url}/healthz`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await new Promise((res) => setTimeout(res, 50));
    expect(closed).toBe(false);
    gate.release();
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra.status, rb.status]).toEqual([200, 200]);
    expect(ra.headers['content-type']).toBe('image/png');
    expect(ra.headers.connection).toBe('close');
    await closing;
    expect(settled.map((s) => s.outcome)).toEqual(['done', 'done']);
  });

  it('after --shutdown-timeout the remaining jobs are aborted and their clients get 503', async () => {
    const gate = new Gate();
    const { server, gen, settled } = await serve({ concurrency: 1, queueSize: 2, shutdownTimeoutMs: 100, hooks: { beforeJob: gate.hold } });
    const a = http('POST', gen, { body: { count: 1, seed: 1 } });
    await until(() => server.app.farmer.queue.running === 1);
    const b = http('POST', gen, { body: { count: 1, seed: 2 } });
    await until(() => server.app.farmer.queue.queued === 1);
    await server.close();
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra.status, rb.status]).toEqual([503, 503]);
    expect(ra.json().error.code).toBe('FARMER_E_UNAVAILABLE');
    expect(settled.map((s) => s.outcome).sort()).toEqual(['aborted', 'dropped']);
  });
});
