import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_DEFAULTS, startServer, type JobSettled, type RunningServer, type StartServerOptions } from '../src/index.js';
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
    // batchSize 1: no two requests share a job, so c jobs run and q requests wait (batching: below).
    const { server, gen, settled } = await serve({ concurrency: c, queueSize: q, batchSize: 1, hooks: { beforeJob: gate.hold } });
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
    await until(() => gate.held === 1);
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
    // Both requests count, as 499 (client closed request), once each.
    expect(metric(scrape, 'farmer_http_requests_total{method="POST",route="/v1/models/:name/generate",status_code="499"}')).toBe(2);
  });
});

describe('batching before admission, at the default settings', () => {
  it('two overlapping compatible requests, queued behind a running one, are served by one batched pass, each with the bytes it gets alone', async () => {
    const gate = new Gate();
    const { server, gen, settled } = await serve({ hooks: { beforeJob: gate.hold } });
    const { queue, options } = server.app.farmer;
    expect([options.concurrency, options.queueSize, options.batchSize]).toEqual([SERVER_DEFAULTS.concurrency, SERVER_DEFAULTS.queueSize, SERVER_DEFAULTS.batchSize]);
    const first = http('POST', gen, { body: { count: 1, labels: 3, seed: 30, sampler: 'naive-cfg' } });
    await until(() => gate.held === 1);
    const bodies = [
      { count: 1, labels: 1, seed: 31 },
      { count: 2, labels: [4, 5], seed: 32 },
    ];
    const overlapping = bodies.map((body) => http('POST', gen, { body }));
    await until(() => queue.queued === 2);
    gate.release();
    const [r0, ...rs] = await Promise.all([first, ...overlapping]);
    expect([r0, ...rs].map((r) => r.status)).toEqual([200, 200, 200]);
    const [a, b] = rs.map((r) => r.json());
    expect(a.runtime).toBe('onnxruntime');
    // One job, one pass: the same job id and AR time; the first request ran alone.
    expect([a.batch.requests, b.batch.requests, r0.json().batch.requests]).toEqual([2, 2, 1]);
    expect(a.batch.id).toBe(b.batch.id);
    expect(a.batch.id).not.toBe(r0.json().batch.id);
    expect(a.timings.arSeconds).toBe(b.timings.arSeconds);
    expect(settled.filter((s) => s.batch?.id === a.batch.id).map((s) => s.outcome)).toEqual(['done', 'done']);
    for (const [i, body] of bodies.entries()) {
      const alone = (await http('POST', gen, { body })).json();
      expect(alone.batch.requests, `request ${i} alone`).toBe(1);
      expect(alone.images, `request ${i}`).toEqual(rs[i].json().images);
    }
    const scrape = (await http('GET', `${server.url}/metrics`)).body.toString();
    expect(metric(scrape, 'farmer_job_requests_bucket{le="1"}')).toBe(3);
    expect(metric(scrape, 'farmer_job_requests_count')).toBe(4);
  });

  it('the queue still counts requests: with batching on, exactly N − q − c get 429', async () => {
    const gate = new Gate();
    const c = 1;
    const q = 3;
    const N = 10;
    const { server, gen, settled } = await serve({ concurrency: c, queueSize: q, hooks: { beforeJob: gate.hold } });
    const { queue } = server.app.farmer;
    const answers: number[] = [];
    const send = (i: number) => http('POST', gen, { body: { count: 1, labels: i % 10, seed: i } }).then((r) => (answers.push(r.status), r));
    const first = send(0);
    await until(() => gate.held === 1);
    // Nine compatible requests while the first job runs: q of them wait (whatever job they will share), the rest are refused.
    const rest = Array.from({ length: N - 1 }, (_, i) => send(i + 1));
    await until(() => answers.length === N - q - c, 20_000, 'the 429s');
    expect(answers.every((s) => s === 429)).toBe(true);
    expect([queue.running, queue.queued]).toEqual([c, q]);
    gate.release();
    const ok = (await Promise.all([first, ...rest])).filter((r) => r.status === 200);
    expect(ok).toHaveLength(q + c);
    // The q waiting requests formed one job when the slot freed.
    expect(new Set(ok.map((r) => r.json().batch.id)).size).toBe(2);
    expect(settled.map((s) => s.outcome)).toEqual(Array(q + c).fill('done'));
  });
});

describe('a long generation: off the request loop, and cancellable', () => {
  // One long generation measured once, then cancelled halfway in a rerun. 64 images in 16 passes take
  // about 0.3 s on onnxruntime on a quiet machine; 16 images (0.07 s) left too few probes to judge.
  const GENERATION_COUNT = 64;
  let fullSeconds = 0;

  it('/healthz answers quickly while a generation runs', async () => {
    const { server, gen, settled } = await serve({ batchSize: 4, maxCount: GENERATION_COUNT });
    const job = http('POST', gen, { body: { count: GENERATION_COUNT, labels: 3, seed: 1 } });
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
    const { server, gen, settled } = await serve({ batchSize: 4, maxCount: GENERATION_COUNT, hooks: { beforeJob: () => void started.push(performance.now()) } });
    const ac = new AbortController();
    const r = http('POST', gen, { body: { count: GENERATION_COUNT, labels: 3, seed: 1 }, signal: ac.signal }).catch((e: Error) => e.name);
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
    await until(() => gate.held === 1);
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
    await until(() => gate.held === 1);
    const b = http('POST', gen, { body: { count: 1, seed: 2 } });
    await until(() => server.app.farmer.queue.queued === 1);
    await server.close();
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra.status, rb.status]).toEqual([503, 503]);
    expect(ra.json().error.code).toBe('FARMER_E_UNAVAILABLE');
    expect(settled.map((s) => s.outcome).sort()).toEqual(['aborted', 'dropped']);
  });
});
