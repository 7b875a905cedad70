import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { farmerTfEngine, FarmerModel, preset, Trainer, type TrainEvent } from '@farmer/ar-gmm';
import { gatherExamples, initBackend, isFarmerError, loadDataset, readCheckpoint, tf, type ImageDataset } from '@farmer/core';
import { missingPackageError } from '@farmer/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseFarmerEngine, chooseTrainEngine, farmerEngineFor, type OrtRuntime } from '../src/index.js';
import { farmerOrtEngine } from '../src/runtime/index.js';

let data: ImageDataset;
const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-ort-train-'));
const losses = (events: { type: string; loss?: number }[]) => events.flatMap((e) => (e.type === 'step' ? [e.loss!] : []));
const relDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i])));

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const all = await loadDataset('mnist');
  data = { ...all, ...gatherExamples(all, Int32Array.from({ length: 400 }, (_, i) => i * 11)) };
});

/** A short mnist-tiny run with EMA and clipping on, both noise modes over the runs that use it. */
async function run(engine: Parameters<typeof Trainer.create>[0]['engine'], steps: number, extra: Partial<Parameters<typeof Trainer.create>[0]> = {}) {
  const events: TrainEvent[] = [];
  const model = FarmerModel.create(preset('mnist-tiny'), 3);
  const t = Trainer.create({ model, train: data, config: { steps, batchSize: 16, lr: 2e-3, warmupSteps: 5, evalEvery: 0, checkpointEvery: 0, noise: { mode: 'gaussian' } }, engine, onEvent: (e) => events.push(e), ...extra });
  const summary = await t.run();
  const weights = model.variableValues();
  model.dispose();
  return { events, weights, summary };
}

describe('the onnxruntime training engine', () => {
  it('starts where tfjs does (step-0 loss to 1e-5 relative) and tracks it over 50 steps (1e-3 relative)', async () => {
    const ort = await run(farmerOrtEngine({ threads: 1 }), 50);
    const ref = await run(farmerTfEngine(), 50);
    const a = losses(ort.events);
    const b = losses(ref.events);
    expect(a).toHaveLength(50);
    expect(Math.abs(a[0] - b[0]) / Math.abs(b[0])).toBeLessThan(1e-5);
    const worst = relDiff(a, b);
    console.log(`ORT vs tfjs over 50 steps: step-0 relative diff ${(Math.abs(a[0] - b[0]) / b[0]).toExponential(2)}, worst ${worst.toExponential(2)} (loss ${b[0].toFixed(3)} → ${b[49].toFixed(3)})`);
    expect(worst).toBeLessThan(1e-3);
    // The loss really moved, so tracking is not trivial.
    expect(b[49]).toBeLessThan(b[0] - 0.3);
    expect(ort.summary).toMatchObject({ engine: 'ort', workers: 1 });
    expect(ort.events.find((e) => e.type === 'step')).toMatchObject({ engine: 'ort' });
  });

  it('resumes exactly on onnxruntime (same threads): losses, weights and checkpoints equal the uninterrupted run', async () => {
    const engine = farmerOrtEngine({ threads: 1 });
    const full = await run(engine, 14);
    const dir = tmp();
    const ac = new AbortController();
    const first = await run(engine, 14, {
      outDir: dir,
      signal: ac.signal,
      onEvent: (e) => e.type === 'step' && e.step === 6 && ac.abort(),
    });
    expect(first.summary.steps).toBe(6);
    const ck = await readCheckpoint(join(dir, 'checkpoint'));
    expect(ck.config.training).toMatchObject({ step: 6, engine: 'ort', workers: 1 });
    const rest: TrainEvent[] = [];
    const t = await Trainer.resume(dir, { train: data, engine, onEvent: (e) => rest.push(e) });
    await t.run();
    const weights = t.model.variableValues();
    t.model.dispose();
    expect([...losses(full.events).slice(0, 6), ...losses(rest)]).toEqual(losses(full.events));
    expect(weights).toEqual(full.weights);
  });

  it('a run started on tfjs continues on onnxruntime from the same checkpoint (same layout)', async () => {
    const dir = tmp();
    const ac = new AbortController();
    await run(farmerTfEngine(), 10, { outDir: dir, signal: ac.signal, onEvent: (e) => e.type === 'step' && e.step === 5 && ac.abort() });
    const rest: TrainEvent[] = [];
    const t = await Trainer.resume(dir, { train: data, engine: farmerOrtEngine({ threads: 1 }), onEvent: (e) => rest.push(e) });
    await t.run();
    t.model.dispose();
    const ref = losses((await run(farmerTfEngine(), 10)).events);
    expect(losses(rest)).toHaveLength(5);
    // Across engines the run continues within float rounding, not bit for bit.
    expect(relDiff(losses(rest), ref.slice(5))).toBeLessThan(1e-3);
  });

  it('keeps RSS bounded over 300 steps and allocates no tfjs tensors per step', async () => {
    const rss: number[] = [];
    const tensors: number[] = [];
    const model = FarmerModel.create(preset('mnist-tiny'), 4);
    const t = Trainer.create({
      model,
      train: data,
      config: { steps: 300, batchSize: 8, evalEvery: 0, checkpointEvery: 0 },
      engine: farmerOrtEngine({ threads: 1 }),
      onEvent: (e) => {
        if (e.type !== 'step') return;
        rss.push(process.memoryUsage().rss);
        tensors.push(tf.memory().numTensors);
      },
    });
    await t.run();
    model.dispose();
    const mb = (x: number) => x / 2 ** 20;
    const growth = mb(rss[299] - rss[49]);
    console.log(`ORT engine RSS: ${mb(rss[49]).toFixed(0)} MB at step 50, ${mb(rss[299]).toFixed(0)} MB at step 300 (growth ${growth.toFixed(1)} MB)`);
    // Stated bound: under 25 MB of growth from step 50 to 300 (allocator noise; a per-step leak of even one batch of gradients, ~0.3 MB, would exceed it).
    expect(growth).toBeLessThan(25);
    expect(new Set(tensors).size).toBe(1);
  });
});

describe('choosing the training engine', () => {
  const tiny = preset('mnist-tiny');

  it('auto picks onnxruntime here; tfjs when asked; an unknown name is refused', async () => {
    expect((await chooseFarmerEngine('auto', tiny)).name).toBe('ort');
    expect(await chooseFarmerEngine('tfjs', tiny, { workers: 2 })).toMatchObject({ name: 'tfjs', workers: 2 });
    const err = await chooseFarmerEngine('gpu' as never, tiny).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_BAD_INPUT')).toBe(true);
    expect(err.message).toMatch(/unknown training engine 'gpu'; choose one of: auto, ort, tfjs/);
  });

  const candidates = (coverage: { supported: boolean; unsupportedOps: string[] }, loadRuntime?: () => Promise<OrtRuntime | Error>) => ({
    coverage: () => coverage,
    what: 'this model',
    ort: () => 'ort-engine',
    tfjs: () => 'tfjs-engine',
    loadRuntime,
  });

  it('an op without a gradient rule: explicit ort names it (exit-2 code), auto falls back with a notice', async () => {
    const cov = { supported: false, unsupportedOps: ['Celu'] };
    const err = await chooseTrainEngine('ort', candidates(cov)).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_UNSUPPORTED')).toBe(true);
    expect(err.message).toMatch(/no gradient rule for op Celu; train with --engine tfjs/);
    const auto = await chooseTrainEngine('auto', candidates(cov), { workers: 1 });
    expect(auto).toMatchObject({ name: 'tfjs', engine: 'tfjs-engine', workers: 1 });
    expect(auto.notice).toMatch(/does not cover op Celu/);
  });

  it('onnxruntime-node that fails to load: explicit ort is an error naming why, auto falls back with a notice', async () => {
    const broken = async () => new Error('libonnxruntime.so.1: cannot open shared object file');
    const ok = { supported: true, unsupportedOps: [] };
    const err = await chooseTrainEngine('ort', candidates(ok, broken)).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_BACKEND')).toBe(true);
    expect(err.message).toBe('--engine ort needs onnxruntime-node: onnxruntime-node failed to load (libonnxruntime.so.1: cannot open shared object file)');
    const auto = await chooseTrainEngine('auto', candidates(ok, broken), { workers: 1 });
    expect(auto.name).toBe('tfjs');
    expect(auto.notice).toBe('training on tfjs: onnxruntime-node failed to load (libonnxruntime.so.1: cannot open shared object file)');
  });

  it('onnxruntime-node not installed (npm dropped the optional dependency): the notice and the error say how to install it', async () => {
    const missing = missingPackageError('onnxruntime-node');
    const ok = { supported: true, unsupportedOps: [] };
    const auto = await chooseTrainEngine('auto', candidates(ok, async () => missing), { workers: 1 });
    expect(auto.name).toBe('tfjs');
    expect(auto.notice).toMatch(/^training on tfjs: onnxruntime-node is not installed \(npm leaves out this optional dependency when its install script fails, e\.g\. without access to api\.nuget\.org\); for onnxruntime on the CPU, install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1\.30\.0`$/);
    const err = await chooseTrainEngine('ort', candidates(ok, async () => missing)).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_BACKEND')).toBe(true);
    expect(err.message).toMatch(/^--engine ort needs onnxruntime-node: onnxruntime-node is not installed .*`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1\.30\.0`$/);
  });

  it('farmerEngineFor chooses when the run starts and reports the choice', async () => {
    const chosen: string[] = [];
    const r = await run(farmerEngineFor('auto', { workers: 1, onChosen: (c) => chosen.push(`${c.name}/${c.workers}`) }), 2);
    expect(chosen).toEqual(['ort/1']);
    expect(r.summary.engine).toBe('ort');
  });
});
