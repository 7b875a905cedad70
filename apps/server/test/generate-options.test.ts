import { join } from 'node:path';
import { generateOptionFields } from '@farmer/sampling';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { removeTmp, tmp, trainTinyCheckpoint } from './helpers.js';

/*
 * The request schema of POST generate is @farmer/sampling's generate-options
 * schema (issue 29): every per-request option of the schema is a body field,
 * no body field but `format` is outside it, and the server's caps are in it.
 */
let app: FastifyInstance;

beforeAll(async () => {
  const models = tmp();
  await trainTinyCheckpoint(join(models, 'tiny'), { steps: 2 });
  app = await buildApp({ models, runtime: 'tfjs', backend: 'wasm', maxCount: 12, processMetrics: false });
  await app.farmer.registry.load();
});

afterAll(async () => {
  await app?.close();
  removeTmp();
});

type JsonSchema = { properties?: Record<string, JsonSchema>; anyOf?: JsonSchema[]; items?: JsonSchema; minimum?: number; maximum?: number; maxItems?: number };

/** The dotted paths of a JSON schema's leaf properties, with their schemas. */
function leaves(s: JsonSchema, prefix: string[] = []): Map<string, JsonSchema> {
  const out = new Map<string, JsonSchema>();
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    if (v.properties) for (const [p, leaf] of leaves(v, [...prefix, k])) out.set(p, leaf);
    else out.set([...prefix, k].join('.'), v);
  }
  return out;
}

async function bodySchema(): Promise<JsonSchema> {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
  return doc.paths['/v1/models/{name}/generate'].post.requestBody.content['application/json'].schema;
}

describe('the generate body is the generate-options schema', () => {
  it('has every per-request option of the schema, and nothing else but format', async () => {
    const body = leaves(await bodySchema());
    const schema = generateOptionFields().filter((f) => f.perRequest).map((f) => f.key);
    expect([...body.keys()].filter((k) => k !== 'format').sort()).toEqual([...schema].sort());
    // The run-wide batch size is the server's --batch-size, not a request's.
    expect(body.has('batchSize')).toBe(false);
  });

  it("keeps the server's caps: --max-count, w ≤ 20, sc ≤ 64, pools ≤ 1024, temperatures in [0.01, 10], redraws ≤ 10", async () => {
    const body = leaves(await bodySchema());
    expect(body.get('count')!.maximum).toBe(12);
    expect(body.get('labels')!.anyOf!.find((a) => a.items)!.maxItems).toBe(12);
    expect(body.get('imageSeeds')!.maxItems).toBe(12);
    expect(body.get('cfg.w')!.maximum).toBe(20);
    expect(body.get('naive.w')!.maximum).toBe(20);
    expect([body.get('cfg.sc')!.maximum, body.get('cfg.su')!.maximum]).toEqual([64, 64]);
    expect([body.get('cfg.poolC')!.maximum, body.get('cfg.poolU')!.maximum]).toEqual([1024, 1024]);
    for (const k of ['informative.temperature', 'redundant.scale', 'cfg.proposal.pi', 'cfg.evaluation.sigma', 'cfg.sharpen', 'naive.scale']) {
      expect([body.get(k)!.minimum, body.get(k)!.maximum], k).toEqual([0.01, 10]);
    }
    expect(body.get('naive.maxStdRatio')!.maximum).toBe(1000);
    expect(body.get('redraws')!.maximum).toBe(10);
    const over = await app.inject({ method: 'POST', url: '/v1/models/tiny/generate', payload: { labels: 1, cfg: { sc: 65 } } });
    expect(over.statusCode).toBe(400);
    expect(over.json().error).toMatchObject({ code: 'FARMER_E_BAD_INPUT', field: 'cfg.sc' });
  });

  it('takes naive.w and every other option the library takes', async () => {
    const r = await app.inject({
      method: 'POST',
      url: '/v1/models/tiny/generate',
      payload: { count: 1, labels: 3, seed: 2, sampler: 'naive-cfg', cfg: { w: 1 }, naive: { w: 0.5, maxStdRatio: 3 }, redundant: { scale: 0.8 } },
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().parameters).toMatchObject({ sampler: 'naive-cfg', naive: { w: 0.5, maxStdRatio: 3 }, redundant: { temperature: 1.3, scale: 0.8 } });
  });
});

describe('the Jacobi decoder over HTTP', () => {
  it("decodes with decoder 'jacobi' and its settings, reports the passes per block, and refuses settings out of bounds with 400", async () => {
    const payload = { count: 2, labels: [3, 5], seed: 6 };
    const exact = await app.inject({ method: 'POST', url: '/v1/models/tiny/generate', payload });
    const r = await app.inject({ method: 'POST', url: '/v1/models/tiny/generate', payload: { ...payload, decoder: 'jacobi', jacobi: { tolerance: 0 } } });
    expect(r.statusCode, r.body).toBe(200);
    const j = r.json();
    expect(j.parameters).toMatchObject({ decoder: 'jacobi', jacobi: { tolerance: 0 } });
    expect(j.timings.jacobiIterations).toHaveLength(2);
    // Tolerance 0 stops only at an exact floating-point fixed point or the exact cap, N − 1 passes: the exact inverse (docs/method.md §3.13 Jacobi decoding).
    for (const v of j.timings.jacobiIterations) expect(v >= 1 && v <= 48).toBe(true);
    expect(j.images.map((im: { png: string }) => im.png)).toEqual(exact.json().images.map((im: { png: string }) => im.png));
    const auto = (await app.inject({ method: 'POST', url: '/v1/models/tiny/generate', payload: { ...payload, decoder: 'auto' } })).json();
    expect(['flow', 'jacobi']).toContain(auto.parameters.decoder);
    for (const bad of [{ tolerance: -1 }, { maxIterations: 0 }, { modules: 65 }, { tolerance: 2 }, { maxIterations: 4097 }]) {
      const b = await app.inject({ method: 'POST', url: '/v1/models/tiny/generate', payload: { ...payload, decoder: 'jacobi', jacobi: bad } });
      expect(b.statusCode, JSON.stringify(bad)).toBe(400);
      expect(b.json().error).toMatchObject({ code: 'FARMER_E_BAD_INPUT', field: `jacobi.${Object.keys(bad)[0]}` });
    }
  });
});

describe('count defaults to the number of labels', () => {
  it('ten labels and no count draw ten images, one per label', async () => {
    const labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const r = await app.inject({ method: 'POST', url: '/v1/models/tiny/generate', payload: { labels, seed: 4, sampler: 'decoupled' } });
    expect(r.statusCode, r.body).toBe(200);
    const j = r.json();
    expect(j.images.map((im: { label: number }) => im.label)).toEqual(labels);
    expect(j.parameters.count).toBe(10);
    // One label for every image, or none: still one image unless count says more.
    const one = (await app.inject({ method: 'POST', url: '/v1/models/tiny/generate', payload: { labels: 4, seed: 4 } })).json();
    expect(one.images).toHaveLength(1);
    // As many images as image seeds.
    const seeds = (await app.inject({ method: 'POST', url: '/v1/models/tiny/generate', payload: { imageSeeds: ['4:1', '4:3'], sampler: 'decoupled' } })).json();
    expect(seeds.images.map((im: { seed: string }) => im.seed)).toEqual(['4:1', '4:3']);
  });
});
