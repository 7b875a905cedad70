import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_MODELS, builtinModelDir } from '@farmer/models';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { playgroundDist } from '../src/routes/playground.js';
import { removeTmp, tmp } from './helpers.js';

// The built-in model twice: with its ONNX export, and without one (no export in the
// checkpoint, an empty export cache). On tfjs, so that loading them exports nothing.
const builtin = builtinModelDir('mnist-small');
let models: string;
const savedCache = process.env.FARMER_CACHE;

beforeAll(() => {
  models = tmp('farmer-models-');
  cpSync(builtin, join(models, 'exported'), { recursive: true });
  cpSync(builtin, join(models, 'plain'), { recursive: true });
  rmSync(join(models, 'plain', 'onnx'), { recursive: true });
  process.env.FARMER_CACHE = tmp('farmer-cache-');
  mkdirSync(process.env.FARMER_CACHE, { recursive: true });
});

afterAll(() => {
  if (savedCache === undefined) delete process.env.FARMER_CACHE;
  else process.env.FARMER_CACHE = savedCache;
  removeTmp();
});

async function app(apiKey?: string): Promise<FastifyInstance> {
  return buildApp({ models, runtime: 'tfjs', backend: 'wasm', processMetrics: false, ...(apiKey ? { apiKey } : {}) });
}

describe('the ONNX export route', () => {
  it('GET /v1/onnx lists the models with an export only; their files are served byte for byte', async () => {
    const a = await app();
    try {
      const list = await a.inject({ method: 'GET', url: '/v1/onnx' });
      expect(list.statusCode).toBe(200);
      const manifest = JSON.parse(readFileSync(join(builtin, 'onnx', 'manifest.json'), 'utf8')) as { files: Record<string, { bytes: number }> };
      const files = Object.keys(manifest.files);
      expect(list.json()).toEqual({
        models: [{ name: 'exported', url: '/v1/models/exported/onnx/', files: files.length + 1, bytes: Object.values(manifest.files).reduce((s, f) => s + f.bytes, 0) }],
      });
      for (const f of ['manifest.json', ...files.slice(0, 3)]) {
        const r = await a.inject({ method: 'GET', url: `/v1/models/exported/onnx/${f}` });
        expect(r.statusCode, f).toBe(200);
        expect(Buffer.compare(r.rawPayload, readFileSync(join(builtin, 'onnx', f))), f).toBe(0);
      }
    } finally {
      await a.close();
    }
  });

  it('a model without an export, an unknown model and a file outside the manifest are 404s in the error catalogue', async () => {
    const a = await app();
    try {
      const cases: [string, RegExp][] = [
        ['/v1/models/plain/onnx/manifest.json', /model 'plain' has no ONNX export; write one with `farmer export onnx`/],
        ['/v1/models/nobody/onnx/manifest.json', /no model named 'nobody'/],
        ['/v1/models/exported/onnx/config.json', /has no file 'config.json'/],
        ['/v1/models/exported/onnx/..%2Fmodel.safetensors', /has no file '\.\.\/model\.safetensors'/],
      ];
      for (const [url, says] of cases) {
        const r = await a.inject({ method: 'GET', url });
        expect(r.statusCode, url).toBe(404);
        expect(r.json().error.code, url).toBe('FARMER_E_NOT_FOUND');
        expect(r.json().error.message, url).toMatch(says);
      }
    } finally {
      await a.close();
    }
  });

  it('follows the generate route: with an API key set, listing and files need "Authorization: Bearer <key>"', async () => {
    const key = 'test-key-0123456789';
    const a = await app(key);
    try {
      for (const url of ['/v1/onnx', '/v1/models/exported/onnx/manifest.json']) {
        const anon = await a.inject({ method: 'GET', url });
        expect(anon.statusCode, url).toBe(401);
        expect(anon.json().error.code).toBe('FARMER_E_UNAUTHORIZED');
        expect((await a.inject({ method: 'GET', url, headers: { authorization: 'Bearer wrong-key-000000' } })).statusCode, url).toBe(401);
        expect((await a.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } })).statusCode, url).toBe(200);
      }
      const doc = (await a.inject({ method: 'GET', url: '/docs/json' })).json();
      expect(doc.paths['/v1/models/{name}/onnx/{file}'].get.security).toEqual([{ bearerAuth: [] }]);
      // The page itself is public, like /docs: it asks for the key.
      expect((await a.inject({ method: 'GET', url: '/playground/' })).statusCode).toBe(200);
    } finally {
      await a.close();
    }
  });
});

describe('GET /playground/', () => {
  it('serves the built page with the cross-origin isolation headers on every file', async () => {
    const dist = playgroundDist();
    expect(dist, 'apps/playground/dist (the server build depends on it)').toBeDefined();
    const a = await app();
    try {
      const index = await a.inject({ method: 'GET', url: '/playground/' });
      expect(index.statusCode).toBe(200);
      expect(index.headers['content-type']).toMatch(/^text\/html/);
      expect(index.body).toContain('<title>FARMER playground</title>');
      const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(index.body)![1];
      const wasm = (await import('node:fs')).readdirSync(join(dist!, 'assets')).find((f) => f.endsWith('.wasm'))!;
      for (const url of ['/playground/', `/playground/${asset}`, `/playground/assets/${wasm}`, '/playground/models/mnist-small/onnx/manifest.json']) {
        const r = url === '/playground/' ? index : await a.inject({ method: 'HEAD', url });
        expect(r.statusCode, url).toBe(200);
        expect(r.headers['cross-origin-opener-policy'], url).toBe('same-origin');
        expect(r.headers['cross-origin-embedder-policy'], url).toBe('require-corp');
      }
      expect((await a.inject({ method: 'HEAD', url: `/playground/assets/${wasm}` })).headers['content-type']).toBe('application/wasm');
      const bare = await a.inject({ method: 'GET', url: '/playground' });
      expect(bare.statusCode).toBe(301);
      expect(bare.headers.location).toBe('/playground/');
    } finally {
      await a.close();
    }
  });

  it('serves the built-in models’ exports where the page looks for them, from the installed packages: the page’s build carries none', async () => {
    expect(existsSync(join(playgroundDist()!, 'models')), 'the published page holds no model export').toBe(false);
    const a = await app();
    try {
      for (const name of BUILTIN_MODELS) {
        const dir = join(builtinModelDir(name), 'onnx');
        const manifest = await a.inject({ method: 'GET', url: `/playground/models/${name}/onnx/manifest.json` });
        expect(manifest.statusCode, name).toBe(200);
        expect(manifest.headers['cross-origin-embedder-policy']).toBe('require-corp');
        expect(manifest.body).toBe(readFileSync(join(dir, 'manifest.json'), 'utf8'));
        const weights = await a.inject({ method: 'GET', url: `/playground/models/${name}/onnx/flow.weights` });
        expect(weights.statusCode).toBe(200);
        expect(Buffer.compare(weights.rawPayload, readFileSync(join(dir, 'flow.weights')))).toBe(0);
      }
      // Only the files the manifest lists, and only the built-ins.
      const other = await a.inject({ method: 'GET', url: '/playground/models/mnist-small/onnx/config.json' });
      expect(other.statusCode).toBe(404);
      expect(other.json().error).toMatchObject({ code: 'FARMER_E_NOT_FOUND', field: 'file' });
      expect((await a.inject({ method: 'GET', url: '/playground/models/someone/onnx/manifest.json' })).statusCode).toBe(404);
    } finally {
      await a.close();
    }
  });

  it('a built-in that is not installed is a 404 naming the package to install (FARMER_MODELS_DIR without it here)', async () => {
    const saved = process.env.FARMER_MODELS_DIR;
    process.env.FARMER_MODELS_DIR = tmp('farmer-no-models-');
    const a = await app();
    try {
      const r = await a.inject({ method: 'GET', url: '/playground/models/fashion-small/onnx/manifest.json' });
      expect(r.statusCode).toBe(404);
      expect(r.json().error).toEqual({
        code: 'FARMER_E_NOT_FOUND',
        field: 'name',
        message: 'the built-in model fashion-small has no readable ONNX export on this server; install (or reinstall) it: npm install @farmer/model-fashion-small',
      });
    } finally {
      if (saved === undefined) delete process.env.FARMER_MODELS_DIR;
      else process.env.FARMER_MODELS_DIR = saved;
      await a.close();
    }
  });
});
