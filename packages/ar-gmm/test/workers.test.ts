import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { gatherExamples, initBackend, isFarmerError, loadDataset, readCheckpoint, type ImageDataset } from '@farmer/core';
import { relErr } from '@farmer/test-utils';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { shardSizes, TfTrainState, WorkerEngine } from '@farmer/train';
import { farmerTfEngine, FarmerModel, preset, Trainer, type FarmerEngine, type TrainEvent } from '../src/index.js';

let data: ImageDataset;
const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-workers-'));
const config = { steps: 20, batchSize: 12, lr: 2e-3, warmupSteps: 2, evalEvery: 0, checkpointEvery: 0, noise: { mode: 'gaussian' as const } };
const losses = (events: TrainEvent[]) => events.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);

async function trainWith(workers: number, seed = 5, extra: Partial<Parameters<typeof Trainer.create>[0]> = {}) {
  const events: TrainEvent[] = [];
  const model = FarmerModel.create(preset('mnist-tiny'), seed);
  const t = Trainer.create({ model, train: data, config, engine: farmerTfEngine({ workers }), onEvent: (e) => events.push(e), ...extra });
  const summary = await t.run();
  const weights = model.variableValues();
  t.dispose();
  model.dispose();
  return { events, weights, summary };
}

afterEach(() => {
  vi.restoreAllMocks();
});

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const all = await loadDataset('mnist');
  const { images, labels } = gatherExamples(all, Int32Array.from({ length: 240 }, (_, i) => i * 7));
  data = { ...all, images, labels };
});

describe('data-parallel training with worker threads', () => {
  it('splits a batch into shards weighted by size', () => {
    expect(shardSizes(12, 2)).toEqual([6, 6]);
    expect(shardSizes(13, 3)).toEqual([5, 4, 4]);
  });

  it('two workers and one give the same losses and weights for 20 steps (relative 1e-5)', async () => {
    const one = await trainWith(1);
    const two = await trainWith(2);
    expect(two.events.find((e) => e.type === 'step')).toMatchObject({ workers: 2 });
    const l1 = losses(one.events);
    const l2 = losses(two.events);
    expect(l1).toHaveLength(20);
    // Shard-wise sums round differently from one big sum; the bound covers that, no more.
    expect(relErr(l2, l1)).toBeLessThan(1e-5);
    // The key bias (middle third of qkv.bias) has an exactly zero true gradient (softmax is
    // shift-invariant), so what it gets is rounding noise that AdamW normalises into
    // lr-sized steps of random sign: those elements are held to an absolute bound, far below
    // the Σ lr ≈ 0.04 they could drift in 20 steps; every other weight to relative 1e-5.
    const names = FarmerModel.create(preset('mnist-tiny'), 0).variableNames();
    let worst = 0;
    let worstKeyBias = 0;
    one.weights.forEach((w, i) => {
      if (!names[i].endsWith('attention.qkv.bias')) return void (worst = Math.max(worst, relErr(two.weights[i], w)));
      const third = w.length / 3;
      const pick = (a: Float32Array, from: number, to: number) => a.subarray(from, to);
      worst = Math.max(worst, relErr(pick(two.weights[i], 0, third), pick(w, 0, third)), relErr(pick(two.weights[i], 2 * third, 3 * third), pick(w, 2 * third, 3 * third)));
      for (let j = third; j < 2 * third; j++) worstKeyBias = Math.max(worstKeyBias, Math.abs(w[j] - two.weights[i][j]));
    });
    console.log(`1 vs 2 workers after 20 steps: max relative loss diff ${relErr(l2, l1).toExponential(2)}, weights ${worst.toExponential(2)}, key-bias abs ${worstKeyBias.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
    expect(worstKeyBias).toBeLessThan(1e-4);
  });

  it('sends each update to the workers before applying it on this thread, so the replicas update in parallel', async () => {
    // Spies see this thread only: TfTrainState.update here is replica 0's AdamW + EMA;
    // the workers' own AdamW runs in their isolates. Applying here first made each worker's
    // update wait for this thread's, and its next shard wait for both.
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    const applied = vi.spyOn(TfTrainState.prototype, 'update');
    await trainWith(2, 5, { config: { ...config, steps: 6 } });
    const updatesSent = posted.mock.calls.flatMap((c, i) => ((c[0] as { type: string }).type === 'update' ? [posted.mock.invocationCallOrder[i]] : []));
    const updatesApplied = applied.mock.invocationCallOrder;
    expect(updatesApplied).toHaveLength(6);
    expect(updatesSent).toHaveLength(6);
    updatesApplied.forEach((order, i) => expect(updatesSent[i]).toBeLessThan(order));
  });

  it('keeps replicas bit-identical and leaks no tensors in the workers', async () => {
    const states: { checksums: number[]; workerTensors: number[] }[] = [];
    const engine: FarmerEngine = (m) => async (ctx) => {
      const inner = (await farmerTfEngine({ workers: 2 })(m)(ctx)) as WorkerEngine<unknown, never>;
      expect(inner).toBeInstanceOf(WorkerEngine);
      return {
        name: inner.name,
        workers: 2,
        compute: (b) => inner.compute(b),
        apply: async (u) => {
          await inner.apply(u);
          states.push(await inner.replicaState());
        },
        state: () => inner.state(),
        dispose: () => inner.dispose(),
      };
    };
    const model = FarmerModel.create(preset('mnist-tiny'), 6);
    const t = Trainer.create({ model, train: data, config: { ...config, steps: 30 }, engine });
    await t.run();
    expect(states).toHaveLength(30);
    for (const s of states) expect(s.checksums[1]).toBe(s.checksums[0]);
    const counts = states.slice(2).map((s) => s.workerTensors[0]);
    expect(new Set(counts).size).toBe(1);
    t.dispose();
    model.dispose();
  });

  it('resumes with workers, including with a different worker count', async () => {
    const reference = losses((await trainWith(1, 7)).events);
    const dir = tmp();
    const first: TrainEvent[] = [];
    const ac = new AbortController();
    const model = FarmerModel.create(preset('mnist-tiny'), 7);
    const t = Trainer.create({
      model,
      train: data,
      config,
      outDir: dir,
      signal: ac.signal,
      engine: farmerTfEngine({ workers: 2 }),
      onEvent: (e) => {
        first.push(e);
        if (e.type === 'step' && e.step === 8) ac.abort();
      },
    });
    await t.run();
    t.dispose();
    model.dispose();
    const rest: TrainEvent[] = [];
    const r = await Trainer.resume(dir, { train: data, engine: farmerTfEngine({ workers: 1 }), onEvent: (e) => rest.push(e) });
    await r.run();
    const resumed = [...losses(first), ...losses(rest)];
    expect(resumed).toHaveLength(20);
    expect(relErr(resumed, reference)).toBeLessThan(1e-5);
    r.dispose();
    r.model.dispose();
  });

  it('fails fast with the worker’s error when a worker throws, leaving the last checkpoint intact', async () => {
    const dir = tmp();
    const model = FarmerModel.create(preset('mnist-tiny'), 8);
    const t = Trainer.create({
      model,
      train: data,
      config: { ...config, checkpointEvery: 4 },
      outDir: dir,
      engine: farmerTfEngine({ workers: 2, failAt: { worker: 1, step: 10 } }),
    });
    const started = Date.now();
    const err = await t.run().catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_INTERNAL')).toBe(true);
    expect(err.message).toMatch(/training worker 1 failed: injected failure at step 10/);
    expect(Date.now() - started).toBeLessThan(60_000);
    const ck = await readCheckpoint(join(dir, 'checkpoint'));
    expect((ck.config.training as { step: number }).step).toBe(8);
    t.dispose();
    model.dispose();
  });

  it('refuses a batch smaller than the worker count', async () => {
    const model = FarmerModel.create(preset('mnist-tiny'), 9);
    const t = Trainer.create({ model, train: data, config: { ...config, batchSize: 2 }, engine: farmerTfEngine({ workers: 3 }) });
    await expect(t.run()).rejects.toThrow(/batch 2 is smaller than the 3 workers/);
    t.dispose();
    model.dispose();
  });
});
