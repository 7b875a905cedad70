import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadTfRunner, tfLikelihood, type FarmerRunner, type ModelCapabilities } from '@farmer/ar-gmm';
import { isFarmerError } from '@farmer/core';
import { builtinModelDir } from '@farmer/models';
import { openModel } from '@farmer/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, discoverModels, startServer } from '../src/index.js';
import { deadPid } from '@farmer/test-utils';
import { http, removeTmp, tmp, trainTinyCheckpoint } from './helpers.js';

let good: string;

beforeAll(async () => {
  good = await trainTinyCheckpoint(join(tmp(), 'good'));
});

afterAll(removeTmp);

/** A models directory: `good` copied under each name, then broken as asked. */
function modelsDir(names: string[], breakIt: Record<string, (dir: string) => void> = {}): string {
  const root = tmp('farmer-models-');
  for (const n of names) cpSync(good, join(root, n), { recursive: true });
  for (const [n, f] of Object.entries(breakIt)) {
    mkdirSync(join(root, n), { recursive: true });
    f(join(root, n));
  }
  return root;
}

describe('model registry', () => {
  it('serves every valid checkpoint of a directory and reports the invalid ones, which the rest survive', async () => {
    const root = modelsDir(['alpha', 'beta'], {
      'bad-weights': (d) => {
        cpSync(good, d, { recursive: true });
        const f = join(d, 'model.safetensors');
        writeFileSync(f, readFileSync(f).subarray(0, 100));
      },
      'bad-config': (d) => {
        cpSync(good, d, { recursive: true });
        writeFileSync(join(d, 'config.json'), '{ not json');
      },
      empty: () => undefined,
    });
    const server = await startServer({ models: root, port: 0, logger: false, processMetrics: false });
    try {
      expect(server.models!.ready).toEqual(['alpha', 'beta']);
      expect(Object.fromEntries(server.models!.failed.map((f) => [f.name, f.code]))).toEqual({ 'bad-config': 'FARMER_E_CORRUPT', 'bad-weights': 'FARMER_E_CORRUPT', empty: 'FARMER_E_NOT_FOUND' });
      const list = (await http('GET', `${server.url}/v1/models`)).json().models;
      expect(list.map((m: { name: string; status: string }) => `${m.name}:${m.status}`)).toEqual(['alpha:ready', 'bad-config:failed', 'bad-weights:failed', 'beta:ready', 'empty:failed']);
      const bad = list.find((m: { name: string }) => m.name === 'bad-weights');
      expect(bad.error.message).toMatch(/bad-weights\/model\.safetensors is 100 bytes/);
      expect(bad.error.message).not.toContain(root);
      const ready = (await http('GET', `${server.url}/readyz`)).json();
      expect(ready).toMatchObject({ status: 'ready', models: { ready: 2, failed: 3, loading: 0 } });
      // Probes are anonymous: the reasons name the models, never the server's paths.
      expect(ready.failed.find((f: { name: string }) => f.name === 'bad-weights').message).toMatch(/bad-weights\/model\.safetensors is 100 bytes/);
      expect(JSON.stringify(ready.failed)).not.toContain(root);
      expect(JSON.stringify(ready.failed)).not.toMatch(/\/tmp\//);
      const r = await http('POST', `${server.url}/v1/models/beta/generate`, { body: { labels: 1, seed: 1, format: 'png' } });
      expect(r.status).toBe(200);
      const broken = await http('POST', `${server.url}/v1/models/bad-weights/generate`, { body: {} });
      expect(broken.status).toBe(503);
      expect(broken.json().error).toMatchObject({ code: 'FARMER_E_UNAVAILABLE', field: 'name' });
      expect(broken.json().error.message).toMatch(/failed to load \(FARMER_E_CORRUPT/);
    } finally {
      await server.close();
    }
  });

  it('a single checkpoint (or training run) directory serves as one model named after it', () => {
    expect(discoverModels(good)).toEqual([{ name: 'good', dir: good }]);
    const run = tmp('farmer-run-');
    cpSync(good, join(run, 'checkpoint'), { recursive: true });
    const name = run.split('/').pop()!;
    expect(discoverModels(run)).toEqual([{ name, dir: run }]);
    expect(discoverModels(join(run, 'checkpoint'))).toEqual([{ name, dir: join(run, 'checkpoint') }]);
  });

  it('with no --models every built-in model present is served (found through FARMER_MODELS_DIR here); none is an error naming the package', async () => {
    const saved = process.env.FARMER_MODELS_DIR;
    try {
      const one = modelsDir(['mnist-small']);
      process.env.FARMER_MODELS_DIR = one;
      expect(discoverModels(undefined)).toEqual([{ name: 'mnist-small', dir: join(one, 'mnist-small') }]);
      const both = modelsDir(['mnist-small', 'fashion-small', 'someone-elses']);
      process.env.FARMER_MODELS_DIR = both;
      expect(discoverModels(undefined)).toEqual([
        { name: 'mnist-small', dir: join(both, 'mnist-small') },
        { name: 'fashion-small', dir: join(both, 'fashion-small') },
      ]);
      const app = await buildApp({ processMetrics: false });
      expect((await app.farmer.registry.load()).ready).toEqual(['mnist-small', 'fashion-small']);
      await app.close();
      // None there: the error names the package to install.
      const none = modelsDir([]);
      process.env.FARMER_MODELS_DIR = none;
      expect(() => discoverModels(undefined)).toThrow(
        `the built-in model mnist-small was not found in FARMER_MODELS_DIR (${none}): put it at ${join(none, 'mnist-small')}, or unset FARMER_MODELS_DIR to use the installed package (npm install @farmer/model-mnist-small)`,
      );
    } finally {
      if (saved === undefined) delete process.env.FARMER_MODELS_DIR;
      else process.env.FARMER_MODELS_DIR = saved;
    }
  });

  it('a missing or empty models directory is a startup error naming it', async () => {
    await expect(buildApp({ models: '/nonexistent/models' })).rejects.toSatisfy((e) => isFarmerError(e, 'FARMER_E_NOT_FOUND') && /\/nonexistent\/models does not exist/.test(e.message));
    await expect(buildApp({ models: tmp() })).rejects.toSatisfy((e) => isFarmerError(e, 'FARMER_E_NOT_FOUND') && /holds no checkpoint/.test(e.message));
  });

  it('startServer fails, listing why, when no model at all can be loaded', async () => {
    const root = modelsDir([], { a: () => undefined, b: (d) => writeFileSync(join(d, 'config.json'), '[]') });
    await expect(startServer({ models: root, port: 0, logger: false, processMetrics: false })).rejects.toSatisfy(
      (e) => isFarmerError(e) && /no model could be loaded:\n {2}- a: .*\n {2}- b: /.test(e.message),
    );
  });

  it('binds its port before loading any model: a port in use fails at once', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    const opened: string[] = [];
    const openRunner = async (dir: string): Promise<ModelCapabilities> => {
      opened.push(dir);
      return { runner: await loadTfRunner(dir) };
    };
    try {
      await expect(startServer({ models: good, openRunner, port, logger: false, processMetrics: false })).rejects.toSatisfy(
        (e) => isFarmerError(e, 'FARMER_E_BAD_CONFIG') && /port \d+ on 127\.0\.0\.1 is in use; choose another with --port/.test(e.message),
      );
      expect(opened).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('serves a checkpoint that an interrupted write left as .old-* under its own name, in place', async () => {
    const root = modelsDir(['alpha']);
    cpSync(good, join(root, `beta.old-${deadPid()}-0a1b2c3d`), { recursive: true });
    const run = tmp('farmer-run-');
    cpSync(good, join(run, `checkpoint.old-${deadPid()}-0a1b2c3d`), { recursive: true });
    expect(discoverModels(root).map((s) => s.name)).toEqual(['alpha', 'beta']);
    expect(discoverModels(run)).toEqual([{ name: run.split('/').pop(), dir: run }]);
    const server = await startServer({ models: root, port: 0, logger: false, processMetrics: false, runtime: 'tfjs' });
    try {
      expect(server.models!.ready).toEqual(['alpha', 'beta']);
      expect((await http('POST', `${server.url}/v1/models/beta/generate`, { body: { labels: 2, seed: 1, format: 'png' } })).status).toBe(200);
      // A reader: nothing was moved.
      expect(readdirSync(root).sort()).toEqual(['alpha', expect.stringMatching(/^beta\.old-\d+-0a1b2c3d$/)]);
    } finally {
      await server.close();
    }
  });

  it('invalid server options are FARMER_E_BAD_CONFIG naming the option and flag', async () => {
    await expect(buildApp({ models: good, concurrency: 0 })).rejects.toSatisfy((e) => isFarmerError(e, 'FARMER_E_BAD_CONFIG') && /concurrency \(--concurrency\) must be an integer >= 1/.test(e.message));
    await expect(buildApp({ models: good, apiKey: 'short' })).rejects.toSatisfy((e) => isFarmerError(e, 'FARMER_E_BAD_CONFIG') && /at least 8 characters/.test(e.message));
  });
});

describe('the openRunner seam', () => {
  it('serves what the opener gives: generate through any FarmerRunner, likelihood and classify through its likelihood when it gives one, else 501', async () => {
    const tf = await loadTfRunner(good);
    // A runner that is not a TfRunner, delegating generation.
    const runner: FarmerRunner = {
      config: tf.config,
      runtime: 'test-runner',
      decoders: tf.decoders,
      openArStream: (labels) => tf.openArStream(labels),
      decode: (z, batch, options) => tf.decode(z, batch, options),
    };
    const root = modelsDir(['plain', 'scoring']);
    const openRunner = async (dir: string): Promise<ModelCapabilities> => (dir.endsWith('scoring') ? { runner, likelihood: tfLikelihood(tf.model) } : { runner });
    const server = await startServer({ models: root, openRunner, port: 0, logger: false, processMetrics: false });
    try {
      const list = (await http('GET', `${server.url}/v1/models`)).json().models;
      expect(list.map((m: { name: string; runtime: string; likelihood: boolean }) => [m.name, m.runtime, m.likelihood])).toEqual([
        ['plain', 'test-runner', false],
        ['scoring', 'test-runner', true],
      ]);
      const img = await http('POST', `${server.url}/v1/models/plain/generate`, { body: { labels: 4, seed: 3, format: 'png' } });
      expect(img.status).toBe(200);
      const scored = await http('POST', `${server.url}/v1/models/scoring/likelihood?label=4`, { body: img.body, headers: { 'content-type': 'image/png' } });
      expect(scored.status).toBe(200);
      // The same image and seed scored by the plain tfjs path.
      const ref = await startServer({ models: good, port: 0, logger: false, processMetrics: false, runtime: 'tfjs' });
      const direct = await http('POST', `${ref.url}/v1/models/good/likelihood?label=4`, { body: img.body, headers: { 'content-type': 'image/png' } });
      await ref.close();
      expect(scored.json().bitsPerDim).toBeCloseTo(direct.json().bitsPerDim, 5);
      expect((await http('POST', `${server.url}/v1/models/scoring/classify`, { body: img.body, headers: { 'content-type': 'image/png' } })).status).toBe(200);
      for (const route of ['likelihood', 'classify']) {
        const r = await http('POST', `${server.url}/v1/models/plain/${route}`, { body: img.body, headers: { 'content-type': 'image/png' } });
        expect({ route, status: r.status, error: r.json().error }).toMatchObject({ route, status: 501, error: { code: 'FARMER_E_UNSUPPORTED', field: 'name' } });
        expect(r.json().error.message).toMatch(/model 'plain' \(runtime test-runner\) was opened without a likelihood, so it cannot score images; it can still generate/);
      }
    } finally {
      await server.close();
      tf.model.dispose();
    }
  });

  it('a model opened on onnxruntime for sampling only offers no likelihood: /v1/models says so, likelihood and classify are 501 FARMER_E_UNSUPPORTED', async () => {
    const openRunner = (dir: string) => openModel(dir, { runtime: 'onnx' });
    const server = await startServer({ models: [{ name: 'm', dir: builtinModelDir() }], openRunner, port: 0, logger: false, processMetrics: false });
    try {
      expect((await http('GET', `${server.url}/v1/models`)).json().models[0]).toMatchObject({ runtime: 'onnxruntime', likelihood: false });
      const img = await http('POST', `${server.url}/v1/models/m/generate`, { body: { labels: 3, seed: 1, format: 'png' } });
      expect(img.status).toBe(200);
      for (const route of ['likelihood', 'classify']) {
        const r = await http('POST', `${server.url}/v1/models/m/${route}`, { body: img.body, headers: { 'content-type': 'image/png' } });
        expect({ route, status: r.status, error: r.json().error }).toMatchObject({ route, status: 501, error: { code: 'FARMER_E_UNSUPPORTED', field: 'name' } });
      }
    } finally {
      await server.close();
    }
  });
});

describe('/readyz', () => {
  it('is 503 while models load (generate too, with Retry-After), 200 once they are loaded', async () => {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    // The openRunner seam: a slow runtime, here tfjs after a gate.
    const openRunner = async (dir: string): Promise<ModelCapabilities> => {
      await opened;
      return { runner: await loadTfRunner(dir) };
    };
    const server = await startServer({ models: good, openRunner, port: 0, logger: false, processMetrics: false, waitForModels: false });
    try {
      const before = await http('GET', `${server.url}/readyz`);
      expect(before.status).toBe(503);
      expect(before.json()).toMatchObject({ status: 'loading', models: { loading: 1, ready: 0 } });
      expect((await http('GET', `${server.url}/healthz`)).status).toBe(200);
      const early = await http('POST', `${server.url}/v1/models/good/generate`, { body: {} });
      expect(early.status).toBe(503);
      expect(early.headers['retry-after']).toBe('2');
      expect(early.json().error).toMatchObject({ code: 'FARMER_E_UNAVAILABLE', field: 'name' });
      expect((await http('GET', `${server.url}/v1/models`)).json().models).toEqual([{ name: 'good', status: 'loading' }]);
      open();
      await server.app.farmer.registry.load();
      const after = await http('GET', `${server.url}/readyz`);
      expect(after.status).toBe(200);
      expect(after.json()).toMatchObject({ status: 'ready', models: { ready: 1, loading: 0, failed: 0 } });
      expect((await http('POST', `${server.url}/v1/models/good/generate`, { body: { seed: 1 } })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
