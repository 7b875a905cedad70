import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatherExamples, initBackend, isFarmerError, loadDataset, readCheckpoint, tf, type ImageDataset } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateBpd, farmerTfEngine, FarmerModel, preset, Trainer, type FarmerEngine, type TrainEvent } from '../src/index.js';

let train: ImageDataset;
let test: ImageDataset;
const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-train-'));

function subset(ds: ImageDataset, n: number): ImageDataset {
  const { images, labels } = gatherExamples(ds, Int32Array.from({ length: n }, (_, i) => i));
  return { ...ds, images, labels };
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  train = await loadDataset('mnist');
  test = await loadDataset('mnist', { split: 'test' });
});

describe('Trainer', () => {
  it('training mnist-tiny for 150 steps lowers test bits/dim well below the initial value', async () => {
    const model = FarmerModel.create(preset('mnist-tiny'), 1);
    const before = await evaluateBpd(model, test, { maxImages: 200 });
    const t = Trainer.create({ model, train, test, config: { steps: 150, batchSize: 16, lr: 2e-3, warmupSteps: 10, evalEvery: 0, evalImages: 200, checkpointEvery: 0 } });
    const summary = await t.run();
    const after = summary.lastEval!;
    console.log(`mnist-tiny test bpd: ${before.bpd.toFixed(3)} at init → ${after.bpd.toFixed(3)} after 150 steps`);
    expect(before.bpd).toBeGreaterThan(8);
    expect(after.bpd).toBeLessThan(before.bpd - 3);
    t.dispose();
    model.dispose();
  }, 300_000); // tfjs-wasm training: ~45 s alone, several minutes on a loaded 2-core machine

  it('resumes the same run: losses after a resume equal the uninterrupted run', async () => {
    const small = subset(train, 120);
    const config = { steps: 12, batchSize: 8, lr: 2e-3, warmupSteps: 3, evalEvery: 0, checkpointEvery: 0, noise: { mode: 'gaussian' as const } };
    const losses = (events: TrainEvent[]) => events.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);

    const full: TrainEvent[] = [];
    const m1 = FarmerModel.create(preset('mnist-tiny'), 2);
    const t1 = Trainer.create({ model: m1, train: small, config, onEvent: (e) => full.push(e) });
    await t1.run();

    const dir = tmp();
    const first: TrainEvent[] = [];
    const ac = new AbortController();
    const m2 = FarmerModel.create(preset('mnist-tiny'), 2);
    const t2 = Trainer.create({
      model: m2,
      train: small,
      config,
      outDir: dir,
      signal: ac.signal,
      onEvent: (e) => {
        first.push(e);
        if (e.type === 'step' && e.step === 5) ac.abort();
      },
    });
    const s2 = await t2.run();
    expect(s2.stoppedBy).toBe('signal');
    expect(s2.steps).toBe(5);
    const rest: TrainEvent[] = [];
    const t3 = await Trainer.resume(dir, { train: small, onEvent: (e) => rest.push(e) });
    expect(t3.currentStep).toBe(5);
    await t3.run();
    expect([...losses(first), ...losses(rest)]).toEqual(losses(full));
    // metrics.jsonl holds each step once.
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'step').map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const step = lines.find((l) => l.type === 'step');
    for (const key of ['loss', 'bpd', 'lr', 'gradNorm', 'logdetPerDim', 'imagesPerSec', 'noise', 'sigma', 'workers']) expect(step).toHaveProperty(key);
    [t1, t2, t3].forEach((t) => t.dispose());
    [m1, m2, t3.model].forEach((m) => m.dispose());
  });

  it('keeps the tensor count flat over many steps', async () => {
    const model = FarmerModel.create(preset('mnist-tiny'), 3);
    const counts: number[] = [];
    const t = Trainer.create({
      model,
      train: subset(train, 200),
      config: { steps: 40, batchSize: 8, evalEvery: 0, checkpointEvery: 0 },
      onEvent: (e) => e.type === 'step' && counts.push(tf.memory().numTensors),
    });
    await t.run();
    expect(counts).toHaveLength(40);
    expect(new Set(counts.slice(2)).size).toBe(1);
    t.dispose();
    model.dispose();
  });

  it('skips non-finite steps, and stops with a clear error after too many in a row, leaving the last checkpoint intact', async () => {
    const dir = tmp();
    const model = FarmerModel.create(preset('mnist-tiny'), 4);
    const poison =
      (bad: (step: number) => boolean): FarmerEngine =>
      (m) =>
      async (ctx) => {
        const inner = await farmerTfEngine()(m)(ctx);
        let n = 0;
        return {
          name: inner.name,
          workers: 1,
          compute: async (b) => {
            const r = await inner.compute(b);
            n++;
            return bad(n) ? { ...r, loss: NaN, gradNorm: NaN } : r;
          },
          apply: (u) => inner.apply(u),
          state: () => inner.state(),
          dispose: () => inner.dispose(),
        };
      };
    const events: TrainEvent[] = [];
    const t = Trainer.create({
      model,
      train: subset(train, 200),
      outDir: dir,
      config: { steps: 10, batchSize: 8, evalEvery: 0, checkpointEvery: 2, maxNonFinite: 3 },
      engine: poison((n) => n === 3 || n >= 6),
      onEvent: (e) => events.push(e),
    });
    const err = await t.run().catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_NON_FINITE')).toBe(true);
    expect(err.message).toMatch(/3 steps in a row had a non-finite loss or gradient.*at step 8.*last good checkpoint is untouched/);
    expect(events.filter((e) => e.type === 'skip').map((e) => e.step)).toEqual([3, 6, 7, 8]);
    // The last checkpoint (step 6: that step was skipped, the weights are the good ones) survives.
    const ck = await readCheckpoint(join(dir, 'checkpoint'));
    expect((ck.config.training as { step: number }).step).toBe(6);
    const weights = ck.tensors.model;
    expect(Object.values(weights).every((w) => (w.data as Float32Array).every(Number.isFinite))).toBe(true);
    t.dispose();
    model.dispose();
  });

  it('refuses data that do not fit the model, and resuming where there is no run', async () => {
    const model = FarmerModel.create(preset('cifar-small'), 0);
    expect(() => Trainer.create({ model, train, config: { steps: 1 } })).toThrow(/are 28×28×1 but the model takes 32×32×3/);
    model.dispose();
    const err = await Trainer.resume(tmp(), { train }).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_NOT_FOUND')).toBe(true);
    expect(existsSync(join(tmp(), 'checkpoint'))).toBe(false);
  });
});
