import { join } from 'node:path';
import { classify, classPosterior, loadTfRunner, type TfRunner } from '@farmer/ar-gmm';
import { decodePng, encodePng, imageGrid, Rng, tf } from '@farmer/core';
import { generate } from '@farmer/sampling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, startServer, type RunningServer } from '../src/index.js';
import { http, png, removeTmp, tmp, trainTinyCheckpoint, until } from './helpers.js';

// One real server on a loopback port serving a mnist-tiny checkpoint trained here, on tfjs:
// these tests compare with a tfjs runner byte for byte and count tfjs tensors. The default
// runtime (onnxruntime) is served in queue.test.ts and default-runtime.test.ts.
let server: RunningServer;
let url: string;
let ckpt: string;
let runner: TfRunner;

beforeAll(async () => {
  const models = tmp();
  ckpt = await trainTinyCheckpoint(join(models, 'tiny'));
  server = await startServer({ models, port: 0, logger: false, backend: 'wasm', runtime: 'tfjs' });
  url = `${server.url}/v1/models/tiny`;
  runner = await loadTfRunner(ckpt);
});

afterAll(async () => {
  await server?.close();
  runner?.model.dispose();
  removeTmp();
});

describe('happy paths', () => {
  it('GET /healthz and /readyz', async () => {
    const h = await http('GET', `${server.url}/healthz`);
    expect(h.status).toBe(200);
    expect(h.json()).toMatchObject({ status: 'ok' });
    const r = await http('GET', `${server.url}/readyz`);
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({ status: 'ready', models: { ready: 1, loading: 0, failed: 0 }, failed: [] });
  });

  it('GET /v1/models lists the model with its config, classes and sampler defaults', async () => {
    const r = await http('GET', `${server.url}/v1/models`);
    expect(r.status).toBe(200);
    const [m] = r.json().models;
    expect(m).toMatchObject({
      name: 'tiny',
      status: 'ready',
      runtime: 'tfjs',
      decoders: ['flow', 'jacobi'],
      likelihood: true,
      numClasses: 10,
      config: { imageSize: 28, channels: 1, patchSize: 4, numTokens: 49, tokenDim: 16, informativeDim: 4 },
      defaults: { sampler: 'auto', decoder: 'flow', informative: { temperature: 1.3, scale: 0.9 }, cfg: { w: 2.5, sc: 5, su: 5, schedule: 'constant' }, naive: { w: 2.5 } },
    });
    expect(m.classes).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(m.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(m.config.params.total).toBeGreaterThan(1000);
    const one = await http('GET', `${server.url}/v1/models/tiny`);
    expect(one.json()).toEqual(m);
  });

  it('POST generate → JSON with base64 PNGs of 28×28, labels, seeds, parameters and timings', async () => {
    const r = await http('POST', `${url}/generate`, { body: { count: 3, labels: [1, 2, 3], seed: 7 } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const j = r.json();
    expect(j.images).toHaveLength(3);
    j.images.forEach((im: { png: string; label: number; seed: string; width: number }, i: number) => {
      const d = png(im.png);
      expect([d.width, d.height, d.channels]).toEqual([28, 28, 1]);
      expect(im).toMatchObject({ index: i, label: i + 1, seed: `7:${i}`, width: 28, height: 28, channels: 1 });
    });
    expect(j.parameters).toMatchObject({ count: 3, seed: 7, sampler: 'resampling-cfg', labels: [1, 2, 3] });
    expect(j.timings.totalSeconds).toBeGreaterThan(0);
    expect(j.timings.queueSeconds).toBeGreaterThanOrEqual(0);
    expect(j.runtime).toBe('tfjs');
  });

  it('POST generate → image/png for one image (format png, or Accept: image/png), a grid for several', async () => {
    const a = await http('POST', `${url}/generate`, { body: { labels: 4, seed: 1, format: 'png' } });
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('image/png');
    expect(a.headers['x-farmer-seed']).toBe('1');
    expect(a.headers['x-farmer-labels']).toBe('4');
    const im = png(a.body);
    expect([im.width, im.height]).toEqual([28, 28]);
    const b = await http('POST', `${url}/generate`, { body: { labels: 4, seed: 1 }, headers: { accept: 'image/png' } });
    expect(b.headers['content-type']).toBe('image/png');
    expect(b.body.equals(a.body)).toBe(true);
    // 4 tiles of 28 in a 2×2 grid with 2-pixel padding: 2·28 + 3·2 = 62.
    const g = await http('POST', `${url}/generate`, { body: { count: 4, seed: 2, format: 'grid' } });
    expect(g.headers['content-type']).toBe('image/png');
    const grid = png(g.body);
    expect([grid.width, grid.height]).toEqual([62, 62]);
  });

  it('a seed reproduces the library bytes exactly (single PNG, JSON images and grid)', async () => {
    const opts = { count: 3, labels: [0, 5, 9], seed: 4242, cfg: { w: 1.5 } };
    const lib = await generate(runner, { ...opts, batchSize: 16 });
    const j = (await http('POST', `${url}/generate`, { body: opts })).json();
    j.images.forEach((im: { png: string }, i: number) => expect(Buffer.from(im.png, 'base64').equals(Buffer.from(encodePng(lib.images, i)))).toBe(true));
    const grid = await http('POST', `${url}/generate`, { body: { ...opts, format: 'grid' } });
    expect(grid.body.equals(Buffer.from(encodePng(imageGrid(lib.images))))).toBe(true);
    // Image 1 of that request, redrawn alone by its image seed.
    const one = await http('POST', `${url}/generate`, { body: { labels: 5, imageSeeds: ['4242:1'], cfg: { w: 1.5 }, format: 'png' } });
    expect(one.body.equals(Buffer.from(encodePng(lib.images, 1)))).toBe(true);
    // Unconditional, decoupled sampler with explicit temperatures.
    const u = { labels: null, seed: 11, informative: { temperature: 1, scale: 0.8 } };
    const libU = await generate(runner, { count: 1, ...u });
    const srvU = await http('POST', `${url}/generate`, { body: { ...u, format: 'png' } });
    expect(srvU.headers['x-farmer-labels']).toBe('-1');
    expect(srvU.body.equals(Buffer.from(encodePng(libU.images, 0)))).toBe(true);
  });

  it('without a seed a random one is drawn and returned, and it reproduces the images', async () => {
    const a = (await http('POST', `${url}/generate`, { body: { count: 1, labels: 3 } })).json();
    const seed = a.parameters.seed;
    expect(Number.isInteger(seed)).toBe(true);
    const b = (await http('POST', `${url}/generate`, { body: { count: 1, labels: 3, seed } })).json();
    expect(b.images[0].png).toBe(a.images[0].png);
  });

  it('runs every sampler', async () => {
    for (const sampler of ['decoupled', 'resampling-cfg', 'naive-cfg'] as const) {
      const r = await http('POST', `${url}/generate`, { body: { count: 2, labels: 7, seed: 3, sampler, naive: { w: 1 }, cfg: { schedule: 'linear' } } });
      expect(r.status, sampler).toBe(200);
      expect(r.json().parameters.sampler).toBe(sampler);
    }
  });

  it('POST likelihood: raw image/png and base64 JSON give the same bits/dim; label and seed are honoured', async () => {
    const gen = await http('POST', `${url}/generate`, { body: { labels: 2, seed: 5, format: 'png' } });
    const raw = await http('POST', `${url}/likelihood?label=2&seed=1`, { body: gen.body, headers: { 'content-type': 'image/png' } });
    expect(raw.status).toBe(200);
    const a = raw.json();
    expect(a).toMatchObject({ model: 'tiny', label: 2, seed: 1, dequantization: 'uniform', width: 28, height: 28, channels: 1 });
    expect(a.bitsPerDim).toBeGreaterThan(0);
    expect(a.bitsPerDim).toBeLessThan(12);
    const b = (await http('POST', `${url}/likelihood`, { body: { image: gen.body.toString('base64'), label: 2, seed: 1 } })).json();
    expect(b.bitsPerDim).toBe(a.bitsPerDim);
    const nullLabel = (await http('POST', `${url}/likelihood`, { body: { image: gen.body.toString('base64') } })).json();
    expect(nullLabel.label).toBe(-1);
    expect(nullLabel.bitsPerDim).not.toBe(a.bitsPerDim);
    // log p(x|label) in its three terms, whose total is the bits/dim's (docs/method.md §5.2 Bits per dim); no OOD score without training statistics.
    const t = a.terms;
    expect(t.informative + t.redundant + t.logdet).toBe(t.total);
    // The runtime's own NLL gives bits/dim: equal up to its float32 rounding.
    expect(Math.abs((-t.total / (28 * 28) + Math.log(128)) / Math.LN2 - a.bitsPerDim)).toBeLessThan(1e-5 * a.bitsPerDim);
    expect(a).not.toHaveProperty('ood');
  });

  it('POST classify: raw image/png and base64 JSON agree with the library\'s classify on the same noise; temperature is honoured', async () => {
    const gen = await http('POST', `${url}/generate`, { body: { labels: 3, seed: 6, format: 'png' } });
    const raw = await http('POST', `${url}/classify?seed=1`, { body: gen.body, headers: { 'content-type': 'image/png' } });
    expect(raw.status).toBe(200);
    const a = raw.json();
    expect(a).toMatchObject({ model: 'tiny', seed: 1, temperature: 1, dequantization: 'uniform' });
    expect(a.posterior).toHaveLength(10);
    expect(a.posterior.reduce((s: number, p: number) => s + p, 0)).toBeCloseTo(1, 9);
    const want = await classify(runner, decodePng(new Uint8Array(gen.body), 1), { rng: new Rng('classify:1') });
    expect(a.logLikelihood).toEqual(Array.from(want.logLik));
    expect(a.predicted).toBe(want.predicted[0]);
    expect(a.bitsPerDim).toBe(want.bitsPerDim[0]);
    expect(a.terms).toEqual({ informative: want.terms.informative[0], redundant: want.terms.redundant[0], logdet: want.terms.logdet[0], total: want.terms.total[0] });
    expect(a).not.toHaveProperty('ood');
    const b = (await http('POST', `${url}/classify`, { body: { image: gen.body.toString('base64'), seed: 1, temperature: 50 } })).json();
    expect(b.logLikelihood).toEqual(a.logLikelihood);
    expect(Array.from(b.posterior)).toEqual(Array.from(classPosterior(want.logLik, 10, { temperature: 50 })));
  });

  it('GET /metrics exposes requests, latencies, queue depth, jobs and images generated', async () => {
    const r = await http('GET', `${server.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    const text = r.body.toString();
    expect(text).toMatch(/farmer_http_requests_total\{method="POST",route="\/v1\/models\/:name\/generate",status_code="200"\} \d+/);
    expect(text).toMatch(/farmer_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/healthz",status_code="200"\}/);
    expect(text).toMatch(/farmer_queue_depth 0/);
    expect(text).toMatch(/farmer_jobs_running 0/);
    expect(text).toMatch(/farmer_jobs_total\{kind="generate",outcome="done"\} \d+/);
    expect(text).toMatch(/farmer_jobs_total\{kind="likelihood",outcome="done"\} 3/);
    const images = Number(/farmer_images_generated_total\{model="tiny"\} (\d+)/.exec(text)?.[1]);
    expect(images).toBeGreaterThanOrEqual(20);
    expect(text).toMatch(/farmer_models\{status="ready"\} 1/);
    expect(text).toMatch(/process_cpu_user_seconds_total/);
  });

  it('serves the OpenAPI document and the UI at /docs', async () => {
    const ui = await http('GET', `${server.url}/docs`);
    expect(ui.status).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    expect(ui.body.toString()).toMatch(/swagger/i);
    const doc = (await http('GET', `${server.url}/docs/json`)).json();
    expect(doc.openapi).toBe('3.0.3');
    for (const p of ['/v1/models', '/v1/models/{name}', '/v1/models/{name}/generate', '/v1/models/{name}/likelihood', '/healthz', '/readyz', '/metrics']) expect(doc.paths, p).toHaveProperty([p]);
    const gen = doc.paths['/v1/models/{name}/generate'].post;
    expect(Object.keys(gen.requestBody.content)).toEqual(['application/json']);
    expect(gen.requestBody.content['application/json'].schema.properties.count).toMatchObject({ type: 'integer', maximum: 16 });
    expect(Object.keys(gen.responses['200'].content).sort()).toEqual(['application/json', 'image/png']);
    const lik = doc.paths['/v1/models/{name}/likelihood'].post.requestBody.content;
    expect(Object.keys(lik).sort()).toEqual(['application/json', 'image/png']);
    expect(lik['image/png'].schema).toMatchObject({ type: 'string', format: 'binary' });
    expect(doc.components.schemas).toHaveProperty('FarmerError');
  });

  it('the tensor count is flat after many requests, including failed and cancelled ones', async () => {
    const body = { count: 2, labels: [1, 8], seed: 1 };
    await http('POST', `${url}/generate`, { body }); // warm-up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 6; i++) {
      expect((await http('POST', `${url}/generate`, { body: { ...body, seed: i, sampler: i % 2 ? 'decoupled' : 'auto' } })).status).toBe(200);
      expect((await http('POST', `${url}/generate`, { body: { ...body, labels: [1, 10] } })).status).toBe(400);
    }
    const gen = await http('POST', `${url}/generate`, { body: { labels: 2, seed: 5, format: 'png' } });
    for (let i = 0; i < 4; i++) await http('POST', `${url}/likelihood`, { body: gen.body, headers: { 'content-type': 'image/png' } });
    const ac = new AbortController();
    const cancelled = http('POST', `${url}/generate`, { body: { count: 16, seed: 1 }, signal: ac.signal }).catch(() => 'aborted');
    const { queue } = server.app.farmer;
    // Cancelled while it runs (a fixed delay lost the race: 16 images take well under 0.1 s on onnxruntime).
    await until(() => queue.running === 1, 10_000, 'the generation to start');
    ac.abort();
    expect(await cancelled).toBe('aborted');
    while (queue.running || queue.queued) await new Promise((r) => setTimeout(r, 10));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('auth', () => {
  it('off: generate and likelihood need no key (an Authorization header is ignored)', async () => {
    expect((await http('POST', `${url}/generate`, { body: { seed: 1 } })).status).toBe(200);
    expect((await http('POST', `${url}/generate`, { body: { seed: 1 }, headers: { authorization: 'Bearer whatever' } })).status).toBe(200);
  });

  it('on: generate and likelihood need "Authorization: Bearer <key>"; listing, probes, metrics and docs do not', async () => {
    const key = 'test-key-0123456789';
    const s = await startServer({ models: ckpt, port: 0, logger: false, processMetrics: false, apiKey: key });
    try {
      const gen = `${s.url}/v1/models/${basenameOf(ckpt)}/generate`;
      const lik = `${s.url}/v1/models/${basenameOf(ckpt)}/likelihood`;
      const cases: [Record<string, string>, RegExp][] = [
        [{}, /needs an API key/],
        [{ authorization: 'Bearer wrong-key-000000' }, /not valid/],
        [{ authorization: `Basic ${key}` }, /must be "Bearer <key>"/],
        [{ authorization: `Bearer ${key}x` }, /not valid/],
      ];
      for (const [headers, says] of cases) {
        const r = await http('POST', gen, { body: { seed: 1 }, headers });
        expect(r.status).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Bearer realm="farmer"');
        expect(r.json().error).toMatchObject({ code: 'FARMER_E_UNAUTHORIZED', field: 'authorization' });
        expect(r.json().error.message).toMatch(says);
      }
      const auth = { authorization: `Bearer ${key}` };
      const ok = await http('POST', gen, { body: { seed: 1, format: 'png' }, headers: auth });
      expect(ok.status).toBe(200);
      expect((await http('POST', lik, { body: ok.body, headers: { 'content-type': 'image/png' } })).status).toBe(401);
      expect((await http('POST', lik, { body: ok.body, headers: { 'content-type': 'image/png', ...auth } })).status).toBe(200);
      // The key is checked before the body is read: an anonymous huge upload is a 401, not a 413.
      expect((await http('POST', lik, { body: Buffer.alloc(4 << 20), headers: { 'content-type': 'image/png' } })).status).toBe(401);
      for (const path of ['/v1/models', '/healthz', '/readyz', '/metrics', '/docs/json']) expect((await http('GET', `${s.url}${path}`)).status, path).toBe(200);
      const doc = (await http('GET', `${s.url}/docs/json`)).json();
      expect(doc.paths['/v1/models/{name}/generate'].post.security).toEqual([{ bearerAuth: [] }]);
    } finally {
      await s.close();
    }
  });
});

describe('buildApp', () => {
  it('works with app.inject() (no listening socket)', async () => {
    const app = await buildApp({ models: ckpt, processMetrics: false });
    const report = await app.farmer.registry.load();
    expect(report.ready).toEqual([basenameOf(ckpt)]);
    const r = await app.inject({ method: 'POST', url: `/v1/models/${basenameOf(ckpt)}/generate`, payload: { labels: 1, seed: 9, format: 'png' } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('image/png');
    expect(png(r.rawPayload).width).toBe(28);
    const bad = await app.inject({ method: 'POST', url: `/v1/models/${basenameOf(ckpt)}/generate`, payload: { count: 'two' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: { code: 'FARMER_E_BAD_INPUT', message: 'count must be integer', field: 'count' } });
    await app.close();
  });
});

function basenameOf(p: string): string {
  return p.split('/').pop()!;
}
