import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { classify, loadTfRunner, type TfRunner } from '@farmer/ar-gmm';
import { decodePng, gatherExamples, loadDataset, Rng } from '@farmer/core';
import { computeOodStats, scoreClassified, scoreOod, writeOodStats, type OodStats } from '@farmer/eval';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/index.js';
import { http, removeTmp, tmp, trainTinyCheckpoint } from './helpers.js';

// The default OOD score in the likelihood and classify responses
// (docs/method.md §5.5 OOD scores): the library's value for the same image and dequantisation, when the model has its
// training statistics; left out, with everything else served, when they are outdated.
let server: RunningServer;
let runner: TfRunner;
let stats: OodStats;
let base: string;

beforeAll(async () => {
  const models = tmp();
  const ckpt = await trainTinyCheckpoint(join(models, 'tiny'));
  runner = await loadTfRunner(ckpt);
  const all = await loadDataset('mnist');
  const train = gatherExamples(all, Int32Array.from({ length: 24 }, (_, i) => i * 97)).images;
  stats = await computeOodStats(runner, train, 'mnist');
  await writeOodStats(ckpt, stats);
  // The same model served as a training run directory: its statistics are in run/checkpoint/.
  cpSync(ckpt, join(models, 'run', 'checkpoint'), { recursive: true });
  // The same model with a statistics file of an older farmer-ts.
  cpSync(ckpt, join(models, 'old'), { recursive: true });
  writeFileSync(join(models, 'old', 'ood-stats.json'), JSON.stringify({ ...stats, version: 1 }));
  server = await startServer({ models, port: 0, logger: false, backend: 'wasm', runtime: 'tfjs' });
  base = `${server.url}/v1/models`;
});

afterAll(async () => {
  await server?.close();
  runner?.model.dispose();
  removeTmp();
});

describe('the OOD score in responses', () => {
  it("likelihood and classify carry complexityTypicality, equal to the library's for the same noise", async () => {
    const gen = await http('POST', `${base}/tiny/generate`, { body: { labels: 4, seed: 2, format: 'png' } });
    const image = decodePng(new Uint8Array(gen.body), 1);
    const lik = (await http('POST', `${base}/tiny/likelihood?label=4&seed=3`, { body: gen.body, headers: { 'content-type': 'image/png' } })).json();
    const want = await scoreOod(runner, image, stats, { rng: new Rng('likelihood:3') });
    expect(lik.ood).toEqual({ score: 'complexityTypicality', value: want.scores.complexityTypicality[0] });
    expect(lik.ood.value).toBeGreaterThan(0);
    const cls = (await http('POST', `${base}/tiny/classify?seed=3&temperature=7`, { body: gen.body, headers: { 'content-type': 'image/png' } })).json();
    const r = await classify(runner, image, { temperature: 7, rng: new Rng('classify:3') });
    const wantC = await scoreClassified(r, image, runner.config, stats);
    expect(cls.ood).toEqual({ score: 'complexityTypicality', value: wantC.scores.complexityTypicality[0] });
    // The score reads log p(x|y) only: the temperature does not move it.
    const t1 = await scoreOod(runner, image, stats, { rng: new Rng('classify:3') });
    expect(cls.ood.value).toBe(t1.scores.complexityTypicality[0]);
  });

  it("a run directory's model reads the statistics of its checkpoint/", async () => {
    const gen = await http('POST', `${base}/run/generate`, { body: { labels: 4, seed: 2, format: 'png' } });
    const lik = (await http('POST', `${base}/run/likelihood?label=4&seed=3`, { body: gen.body, headers: { 'content-type': 'image/png' } })).json();
    const want = await scoreOod(runner, decodePng(new Uint8Array(gen.body), 1), stats, { rng: new Rng('likelihood:3') });
    expect(lik.ood).toEqual({ score: 'complexityTypicality', value: want.scores.complexityTypicality[0] });
  });

  it('a model with outdated statistics still serves both routes, without the score', async () => {
    const gen = await http('POST', `${base}/old/generate`, { body: { labels: 1, seed: 2, format: 'png' } });
    const lik = await http('POST', `${base}/old/likelihood`, { body: gen.body, headers: { 'content-type': 'image/png' } });
    expect(lik.status).toBe(200);
    expect(lik.json()).not.toHaveProperty('ood');
    expect(lik.json().terms.total).toBeLessThan(0);
    const cls = await http('POST', `${base}/old/classify`, { body: gen.body, headers: { 'content-type': 'image/png' } });
    expect(cls.status).toBe(200);
    expect(cls.json()).not.toHaveProperty('ood');
  });

  it('the OpenAPI document describes terms and ood on both routes', async () => {
    const doc = (await http('GET', `${server.url}/docs/json`)).json();
    for (const route of ['likelihood', 'classify']) {
      const schema = doc.paths[`/v1/models/{name}/${route}`].post.responses['200'].content['application/json'].schema;
      expect(schema.required, route).toContain('terms');
      expect(Object.keys(schema.properties.terms.properties), route).toEqual(['informative', 'redundant', 'logdet', 'total']);
      expect(schema.properties.ood.properties.score.enum, route).toEqual(['complexityTypicality']);
    }
  });
});
