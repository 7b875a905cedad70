import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmerModel, preset, Trainer, type TrainEvent } from '@farmer/ar-gmm';
import { gatherExamples, initBackend, isFarmerError, loadDataset, readCheckpoint, type ImageDataset } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { autoLayout, chooseFarmerEngine, resumedLayout } from '../src/index.js';
import { farmerOrtEngine } from '../src/runtime/index.js';

// Data-parallel onnxruntime training (docs/method.md §6.7 Data parallelism): replicas in worker
// threads, each with its own single-threaded session, the host optimizer on this thread.
let data: ImageDataset;
const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-ort-parallel-'));
const losses = (events: { type: string; loss?: number }[]) => events.flatMap((e) => (e.type === 'step' ? [e.loss!] : []));
const relDiffs = (a: number[], b: number[]) => a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i]));

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const all = await loadDataset('mnist');
  data = { ...all, ...gatherExamples(all, Int32Array.from({ length: 400 }, (_, i) => i * 11)) };
});

async function run(engine: Parameters<typeof Trainer.create>[0]['engine'], steps: number, batchSize: number, extra: Partial<Parameters<typeof Trainer.create>[0]> = {}) {
  const events: TrainEvent[] = [];
  const model = FarmerModel.create(preset('mnist-tiny'), 3);
  const t = Trainer.create({ model, train: data, config: { steps, batchSize, lr: 2e-3, warmupSteps: 5, evalEvery: 0, checkpointEvery: 0, noise: { mode: 'gaussian' } }, engine, onEvent: (e) => events.push(e), ...extra });
  const summary = await t.run();
  const weights = model.variableValues();
  model.dispose();
  return { events, weights, summary };
}

describe('data-parallel onnxruntime training', () => {
  it('gives the one-session losses for the first 20 steps on the same global batch (even and odd splits)', async () => {
    for (const batch of [16, 15]) {
      const one = await run(farmerOrtEngine({ workers: 1, threads: 1 }), 20, batch);
      const two = await run(farmerOrtEngine({ workers: 2, threads: 1 }), 20, batch);
      const d = relDiffs(losses(two.events), losses(one.events));
      console.log(`batch ${batch}: 2 replicas vs 1 session, step-0 relative diff ${d[0].toExponential(2)}, worst of 20 ${Math.max(...d).toExponential(2)}`);
      expect(d).toHaveLength(20);
      // Only the order of the float32 sums differs: step 0 agrees to rounding, and 20 AdamW steps stay within 1e-4.
      expect(d[0]).toBeLessThan(1e-5);
      expect(Math.max(...d)).toBeLessThan(1e-4);
      // The runs did train (so agreement is not trivial), and they did run as asked.
      expect(losses(one.events)[19]).toBeLessThan(losses(one.events)[0] - 0.2);
      expect(two.summary).toMatchObject({ engine: 'ort', workers: 2, threads: 1 });
      expect(two.events.find((e) => e.type === 'step')).toMatchObject({ engine: 'ort', workers: 2, threads: 1 });
    }
  });

  it('resumes exactly with the same engine and worker count: losses and weights equal the uninterrupted run', async () => {
    const engine = farmerOrtEngine({ workers: 2, threads: 1 });
    const full = await run(engine, 12, 16);
    const dir = tmp();
    const ac = new AbortController();
    const first = await run(engine, 12, 16, { outDir: dir, signal: ac.signal, onEvent: (e) => e.type === 'step' && e.step === 5 && ac.abort() });
    expect(first.summary.steps).toBe(5);
    const ck = await readCheckpoint(join(dir, 'checkpoint'));
    expect(ck.config.training).toMatchObject({ step: 5, engine: 'ort', workers: 2, threads: 1 });
    const rest: TrainEvent[] = [];
    const t = await Trainer.resume(dir, { train: data, engine, onEvent: (e) => rest.push(e) });
    await t.run();
    const weights = t.model.variableValues();
    t.model.dispose();
    expect([...losses(full.events).slice(0, 5), ...losses(rest)]).toEqual(losses(full.events));
    expect(weights).toEqual(full.weights);
  });

  it('a failing replica fails the run with the worker named, instead of hanging', async () => {
    const err = await run(farmerOrtEngine({ workers: 2, threads: 1, failAt: { worker: 1, step: 3 } }), 10, 16).catch((e) => e);
    expect(isFarmerError(err)).toBe(true);
    expect(err.message).toMatch(/training worker 1 failed: injected failure at step 3/);
  });

  it('refuses a batch smaller than the replicas with a clear error', async () => {
    const err = await run(farmerOrtEngine({ workers: 3, threads: 1 }), 2, 2).catch((e) => e);
    expect(isFarmerError(err) && err.code).toBe('FARMER_E_BAD_INPUT');
    expect(err.message).toMatch(/batch 2 is smaller than the 3 workers/);
  });

  it('keeps RSS bounded over 200 two-replica steps (every thread is in this process)', async () => {
    const rss: number[] = [];
    await run(farmerOrtEngine({ workers: 2, threads: 1 }), 200, 8, { onEvent: (e) => e.type === 'step' && rss.push(process.memoryUsage().rss) });
    const mb = (x: number) => x / 2 ** 20;
    const growth = mb(rss[199] - rss[39]);
    console.log(`2-replica ORT RSS: ${mb(rss[39]).toFixed(0)} MB at step 40, ${mb(rss[199]).toFixed(0)} MB at step 200 (growth ${growth.toFixed(1)} MB)`);
    // A per-step leak of one weights or gradients buffer (~0.2 MB for mnist-tiny) would add 30 MB.
    expect(growth).toBeLessThan(25);
  });

  it('auto lays out one single-threaded replica per core and says so; --workers N shares the cores out', async () => {
    expect(autoLayout({ cores: 2 })).toMatchObject({ workers: 2, threads: 1 });
    expect(autoLayout({ cores: 1 })).toMatchObject({ workers: 1, threads: 1 });
    const tiny = preset('mnist-tiny');
    const auto = await chooseFarmerEngine('ort', tiny);
    expect(auto.layout).toMatch(/auto: one single-threaded replica per core/);
    const asked = await chooseFarmerEngine('ort', tiny, { workers: 1, threads: 1 });
    expect(asked).toMatchObject({ workers: 1, threads: 1 });
    expect(asked.layout).toBeUndefined();
    const bad = await chooseFarmerEngine('tfjs', tiny, { threads: 2 }).catch((e) => e);
    expect(isFarmerError(bad) && bad.code).toBe('FARMER_E_BAD_INPUT');
    expect(bad.message).toMatch(/--threads sets onnxruntime intra-op threads/);
    const zero = await chooseFarmerEngine('ort', tiny, { workers: 0 }).catch((e) => e);
    expect(isFarmerError(zero) && zero.code).toBe('FARMER_E_BAD_INPUT');
  });

  it('a resume keeps the recorded layout unless told otherwise; a pre-0.2.0 ort run (threads recorded as workers) resumes as one session', () => {
    expect(resumedLayout({ engine: 'ort', workers: 2, threads: 1 }, { engine: 'auto' })).toEqual({ options: { workers: 2, threads: 1 } });
    expect(resumedLayout({ engine: 'ort', workers: 2, threads: 1 }, { engine: 'ort', workers: 1 })).toEqual({ options: { workers: 1, threads: undefined } });
    expect(resumedLayout({ engine: 'tfjs', workers: 2 }, { engine: 'ort' })).toEqual({ options: { workers: undefined, threads: undefined } });
    const old = resumedLayout({ engine: 'ort', workers: 2 }, { engine: 'auto' });
    expect(old.options).toEqual({ workers: 1, threads: 2 });
    expect(old.note).toMatch(/--workers on the onnxruntime engine meant intra-op threads: resuming as 1 worker × 2 threads/);
    expect(resumedLayout({}, { engine: 'auto' })).toEqual({ options: { workers: undefined, threads: undefined } });
  });
});
