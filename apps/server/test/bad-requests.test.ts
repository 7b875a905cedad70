import { join } from 'node:path';
import { FarmerModel, preset, saveFarmer } from '@farmer/ar-gmm';
import { encodePng } from '@farmer/core';
import { craftedPng } from '@farmer/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/index.js';
import { http, removeTmp, tmp, trainTinyCheckpoint } from './helpers.js';

let server: RunningServer;
let goodPng: Buffer;
let hugeHeaderPng: Buffer;
const MAX_UPLOAD = 4096;

beforeAll(async () => {
  const models = tmp();
  await trainTinyCheckpoint(join(models, 'tiny'));
  // An unconditional model, untrained: classify must refuse it before any work.
  const uncond = FarmerModel.create({ ...preset('mnist-tiny'), numClasses: 0 }, 1);
  await saveFarmer(join(models, 'uncond'), uncond);
  uncond.dispose();
  // A model whose exact AF inverse overflows on every latent: α = 100 on the tokens of block 0
  // (token 0's α is 0), so x = z·e^100 is not finite in float32 and no redraw can help.
  const base = FarmerModel.create(preset('mnist-tiny'), 1);
  const values = base.variableValues();
  const k = base.variableNames().indexOf('flow.blocks.0.proj_out.bias');
  if (k < 0) throw new Error(`no flow.blocks.0.proj_out.bias in ${base.variableNames().slice(0, 5).join(', ')} …`);
  values[k].fill(100, 0, values[k].length / 2);
  const overflow = FarmerModel.fromValues(base.config, values);
  base.dispose();
  await saveFarmer(join(models, 'overflow'), overflow);
  overflow.dispose();
  server = await startServer({ models, port: 0, logger: false, backend: 'wasm', maxUploadBytes: MAX_UPLOAD, maxBodyBytes: 2048 });
  hugeHeaderPng = await craftedPng(20000, 20000, 'garbage');
  goodPng = Buffer.from(encodePng({ data: new Uint8Array(28 * 28).fill(30), count: 1, height: 28, width: 28, channels: 1 }));
});

afterAll(async () => {
  await server?.close();
  removeTmp();
});

interface BadRequest {
  name: string;
  method?: string;
  path?: string;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
  code: string;
  field: string | null;
  /** A fragment the message must contain (limits must be stated). */
  says?: string;
}

const GEN = '/v1/models/tiny/generate';
const LIK = '/v1/models/tiny/likelihood';
const CLS = '/v1/models/tiny/classify';
const json = { 'content-type': 'application/json' };
const pngType = { 'content-type': 'image/png' };
const bigPng = () => Buffer.from(encodePng({ data: new Uint8Array(64 * 64).map((_, i) => (i * 7919) % 251), count: 1, height: 64, width: 64, channels: 1 }));

const TABLE: BadRequest[] = [
  // Malformed bodies.
  { name: 'malformed JSON', body: '{"count": ', headers: json, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'body' },
  { name: 'empty JSON body', body: '', headers: json, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'body' },
  { name: 'JSON array instead of object', body: [1, 2], status: 400, code: 'FARMER_E_BAD_INPUT', field: 'body' },
  { name: 'prototype poisoning', body: '{"__proto__": {"count": 3}}', headers: json, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'body', says: 'a "__proto__" key, which is refused for safety' },
  { name: 'prototype poisoning, nested and escaped', body: '{"cfg": {"\\u005f_proto__": {"w": 3}}}', headers: json, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'body', says: 'a "__proto__" key, which is refused for safety' },
  { name: 'constructor poisoning', body: '{"constructor": {"prototype": {"count": 3}}}', headers: json, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'body', says: 'a "constructor" key holding "prototype", which is refused for safety' },
  { name: 'prototype poisoning in an upload', path: LIK, body: '{"image": "iVBORw0KGgo=", "__proto__": {}}', headers: json, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'body', says: 'a "__proto__" key, which is refused for safety' },
  { name: 'wrong content type', body: 'count=1', headers: { 'content-type': 'text/plain' }, status: 415, code: 'FARMER_E_MEDIA_TYPE', field: 'content-type' },
  { name: 'body over --max-body-bytes', body: { count: 1, imageSeeds: Array(600).fill('xxxx') }, status: 413, code: 'FARMER_E_TOO_LARGE', field: 'body', says: '2048 bytes' },
  // Routes and models.
  { name: 'unknown model', path: '/v1/models/nope/generate', body: {}, status: 404, code: 'FARMER_E_NOT_FOUND', field: 'name', says: 'tiny' },
  { name: 'model name with bad characters', path: '/v1/models/..%2Fetc/generate', body: {}, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'name' },
  { name: 'unknown route', method: 'GET', path: '/v2/models', status: 404, code: 'FARMER_E_NOT_FOUND', field: 'url' },
  { name: 'wrong method', method: 'GET', path: GEN, status: 404, code: 'FARMER_E_NOT_FOUND', field: 'url' },
  { name: 'unknown model (GET one)', method: 'GET', path: '/v1/models/nope', status: 404, code: 'FARMER_E_NOT_FOUND', field: 'name' },
  // Export files are looked up by name among the manifest's own entries: no Object.prototype member is one.
  { name: 'export file named toString', method: 'GET', path: '/v1/models/tiny/onnx/toString', status: 404, code: 'FARMER_E_NOT_FOUND', field: 'file', says: "no file 'toString'" },
  { name: 'export file named constructor', method: 'GET', path: '/v1/models/tiny/onnx/constructor', status: 404, code: 'FARMER_E_NOT_FOUND', field: 'file' },
  { name: 'export file named __proto__', method: 'GET', path: '/v1/models/tiny/onnx/__proto__', status: 404, code: 'FARMER_E_NOT_FOUND', field: 'file' },
  // Wrong types and ranges.
  { name: 'count as a string', body: { count: '2' }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'count' },
  { name: 'count 0', body: { count: 0 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'count' },
  { name: 'count over --max-count', body: { count: 17 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'count', says: '--max-count' },
  { name: 'count fractional', body: { count: 1.5 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'count' },
  { name: 'label out of range', body: { count: 2, labels: [3, 10] }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'labels[1]', says: '[0, 9]' },
  { name: 'label below -1', body: { labels: -2 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'labels' },
  { name: 'label of the wrong type', body: { count: 2, labels: [1, 'a'] }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'labels[1]' },
  { name: 'labels not one per image', body: { count: 3, labels: [1, 2] }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'labels' },
  { name: 'temperature 0', body: { informative: { temperature: 0 } }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'informative.temperature' },
  { name: 'temperature negative', body: { redundant: { temperature: -1 } }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'redundant.temperature' },
  { name: 'temperature overflowing to Infinity', body: '{"informative": {"temperature": 1e400}}', headers: json, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'informative.temperature' },
  { name: 'scale as a string', body: { informative: { scale: 'big' } }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'informative.scale' },
  { name: 'cfg.w negative', body: { labels: 1, cfg: { w: -1 } }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'cfg.w' },
  { name: 'cfg.poolC too large', body: { labels: 1, cfg: { poolC: 5000 } }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'cfg.poolC' },
  { name: 'cfg.schedule unknown', body: { labels: 1, cfg: { schedule: 'cosine' } }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'cfg.schedule', says: 'constant, linear' },
  { name: 'unknown sampler', body: { sampler: 'ddim' }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'sampler' },
  { name: 'guided sampler without labels', body: { sampler: 'resampling-cfg' }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'sampler' },
  { name: 'redraws over 10', body: { redraws: 11 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'redraws' },
  { name: 'redraws negative', body: { redraws: -1 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'redraws' },
  { name: 'decoder the model lacks', body: { decoder: 'student' }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'decoder' },
  { name: 'unknown field (typo)', body: { temprature: 1 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'temprature' },
  { name: 'unknown nested field', body: { cfg: { ww: 1 } }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'cfg.ww' },
  { name: 'seed negative', body: { seed: -1 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'seed' },
  { name: 'seed fractional', body: { seed: 0.5 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'seed' },
  { name: 'imageSeeds with a control character', body: { imageSeeds: ['4\n2'], format: 'png' }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'imageSeeds[0]' },
  { name: 'imageSeeds not one per image', body: { count: 2, imageSeeds: ['a'] }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'imageSeeds' },
  { name: 'format png with count 2', body: { count: 2, format: 'png' }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'format' },
  { name: 'unknown format', body: { format: 'gif' }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'format' },
  // Likelihood uploads.
  { name: 'non-PNG upload', path: LIK, body: Buffer.from('GIF89a not a png at all, sorry'), headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image', says: 'not a PNG' },
  { name: 'empty upload', path: LIK, body: Buffer.alloc(0), headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image' },
  { name: 'truncated PNG', path: LIK, body: () => goodPng.subarray(0, 40), headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image' },
  { name: 'PNG of the wrong size', path: LIK, body: bigPng, headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image', says: '28×28' },
  { name: 'PNG whose header says 20000×20000 over a body that is not zlib', path: LIK, body: () => hugeHeaderPng, headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image', says: 'must be 28×28 pixels (this model\'s size), got 20000×20000' },
  { name: 'upload over --max-upload-bytes', path: LIK, body: Buffer.alloc(MAX_UPLOAD + 1), headers: pngType, status: 413, code: 'FARMER_E_TOO_LARGE', field: 'image', says: '--max-upload-bytes' },
  { name: 'base64 upload over the limit', path: LIK, body: { image: Buffer.alloc(MAX_UPLOAD + 10).toString('base64') }, status: 413, code: 'FARMER_E_TOO_LARGE', field: 'image' },
  { name: 'base64 non-PNG', path: LIK, body: { image: 'aGVsbG8gd29ybGQsIHRoaXMgaXMgbm90IGEgcG5n' }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image' },
  { name: 'JSON upload without image', path: LIK, body: { label: 1 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image' },
  { name: 'likelihood label out of range', path: LIK, body: () => ({ image: goodPng.toString('base64'), label: 10 }), status: 400, code: 'FARMER_E_BAD_INPUT', field: 'label' },
  { name: 'likelihood query label not a number', path: `${LIK}?label=three`, body: () => goodPng, headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'label' },
  { name: 'likelihood unknown query parameter', path: `${LIK}?labels=3`, body: () => goodPng, headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'labels' },
  { name: 'likelihood with no body at all', path: LIK, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'body', says: 'Content-Type: image/png' },
  { name: 'generate with no body at all', status: 400, code: 'FARMER_E_BAD_INPUT', field: 'body' },
  { name: 'likelihood image/jpeg', path: LIK, body: Buffer.from([0xff, 0xd8, 0xff]), headers: { 'content-type': 'image/jpeg' }, status: 415, code: 'FARMER_E_MEDIA_TYPE', field: 'content-type', says: 'image/png' },
  // Classify takes images by the likelihood route's rules.
  { name: 'classify empty upload', path: CLS, body: Buffer.alloc(0), headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image' },
  { name: 'classify truncated PNG', path: CLS, body: () => goodPng.subarray(0, 40), headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image' },
  { name: 'classify PNG of the wrong size', path: CLS, body: bigPng, headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image', says: '28×28' },
  { name: 'classify upload over --max-upload-bytes', path: CLS, body: Buffer.alloc(MAX_UPLOAD + 1), headers: pngType, status: 413, code: 'FARMER_E_TOO_LARGE', field: 'image', says: '--max-upload-bytes' },
  { name: 'classify base64 upload over the limit', path: CLS, body: { image: Buffer.alloc(MAX_UPLOAD + 10).toString('base64') }, status: 413, code: 'FARMER_E_TOO_LARGE', field: 'image' },
  { name: 'classify JSON without image', path: CLS, body: { seed: 1 }, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'image' },
  { name: 'classify with no body at all', path: CLS, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'body', says: 'Content-Type: image/png' },
  { name: 'classify temperature 0', path: CLS, body: () => ({ image: goodPng.toString('base64'), temperature: 0 }), status: 400, code: 'FARMER_E_BAD_INPUT', field: 'temperature' },
  { name: 'classify query temperature not a number', path: `${CLS}?temperature=hot`, body: () => goodPng, headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'temperature' },
  { name: 'classify unknown query parameter', path: `${CLS}?label=3`, body: () => goodPng, headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'label' },
  { name: 'classify image/jpeg', path: CLS, body: Buffer.from([0xff, 0xd8, 0xff]), headers: { 'content-type': 'image/jpeg' }, status: 415, code: 'FARMER_E_MEDIA_TYPE', field: 'content-type', says: 'image/png' },
  { name: 'classify an unconditional model', path: '/v1/models/uncond/classify', body: () => goodPng, headers: pngType, status: 400, code: 'FARMER_E_BAD_INPUT', field: 'name', says: 'unconditional' },
];

describe('bad requests get a 4xx JSON error naming the field', () => {
  it(`the table has at least 25 cases (${TABLE.length})`, () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(25);
  });

  it.each(TABLE)('$name → $status $code ($field)', async (t) => {
    const body = typeof t.body === 'function' ? (t.body as () => unknown)() : t.body;
    const r = await http(t.method ?? 'POST', `${server.url}${t.path ?? GEN}`, { body, headers: t.headers });
    const j = r.json();
    expect({ status: r.status, code: j.error?.code, field: j.error?.field }).toEqual({ status: t.status, code: t.code, field: t.field });
    expect(Object.keys(j)).toEqual(['error']);
    expect(typeof j.error.message).toBe('string');
    expect(j.error.message.length).toBeGreaterThan(5);
    if (t.says) expect(j.error.message).toContain(t.says);
    if (process.env.SHOW_MESSAGES) console.log(`${t.name}: ${r.status} ${JSON.stringify(j.error)}`);
  });

  it('extreme but valid sampler settings give images or a 422, never a 5xx', async () => {
    const extremes = [
      { informative: { temperature: 0.01, scale: 0.01 }, redundant: { temperature: 10, scale: 10 } },
      { labels: 3, sampler: 'naive-cfg', naive: { w: 20, temperature: 0.01, scale: 10 } },
      { labels: 3, cfg: { w: 20, sharpen: 10, evaluation: { pi: 0.01, sigma: 0.01 }, proposal: { pi: 10, sigma: 10 }, sc: 1, su: 0, poolC: 1, poolU: 0 } },
      { labels: -1, sampler: 'decoupled', informative: { temperature: 10, scale: 10 } },
    ];
    for (const body of extremes) {
      const r = await http('POST', `${server.url}${GEN}`, { body: { ...body, seed: 1 } });
      expect([200, 422], JSON.stringify(body)).toContain(r.status);
      if (r.status === 422) expect(r.json().error.code).toBe('FARMER_E_NON_FINITE');
    }
  });

  it('latents the decoder never inverts: 422 FARMER_E_NON_FINITE naming the image after `redraws` fresh draws; a good model answers redrawn []', async () => {
    const r = await http('POST', `${server.url}/v1/models/overflow/generate`, { body: { count: 2, labels: [1, 2], seed: 1, redraws: 2 } });
    expect(r.status).toBe(422);
    const j = r.json();
    expect(j.error.code).toBe('FARMER_E_NON_FINITE');
    expect(j.error.message).toMatch(/^generated image 0: flow reverse produced a non-finite value in block \d+ at token \d+ \(sample 0\).*; its latents were drawn again 2 times and none could be inverted$/);
    const first = await http('POST', `${server.url}/v1/models/overflow/generate`, { body: { count: 1, seed: 1, redraws: 0 } });
    expect(first.status).toBe(422);
    expect(first.json().error.message).not.toContain('drawn again');
    const good = await http('POST', `${server.url}${GEN}`, { body: { count: 2, labels: [1, 2], seed: 1 } });
    expect(good.status).toBe(200);
    expect(good.json().redrawn).toEqual([]);
  });

  it('the server is still healthy and no request hit a 5xx', async () => {
    expect((await http('GET', `${server.url}/healthz`)).status).toBe(200);
    const metrics = (await http('GET', `${server.url}/metrics`)).body.toString();
    expect(metrics).not.toMatch(/status_code="5\d\d"/);
  });
});
