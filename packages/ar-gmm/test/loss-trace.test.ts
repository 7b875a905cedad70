import { readFileSync } from 'node:fs';
import { initBackend, loadDataset, type ImageDataset } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { farmerTfEngine, FarmerModel, preset, Trainer, type TrainConfigInput, type TrainEvent } from '../src/index.js';

/**
 * Losses recorded on main before the training loop moved into @farmer/train
 * (fixtures/record-loss-traces.mjs): the built-in model's run on one worker,
 * and the 30-minute experiment C on two workers, first 20 steps. The move
 * must change no result, so these are compared bit for bit.
 */
interface Trace {
  workers: number;
  config: TrainConfigInput;
  steps: { step: number; loss: number; gradNorm: number; logdetPerDim: number; lr: number; sigma: number }[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/loss-traces.json', import.meta.url), 'utf8')) as Record<string, Trace | string>;

let train: ImageDataset;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  train = await loadDataset('mnist', { split: 'train' });
});

async function first20(trace: Trace): Promise<Trace['steps']> {
  const ac = new AbortController();
  const steps: Trace['steps'] = [];
  const model = FarmerModel.create(preset('mnist-small'), trace.config.seed);
  const t = Trainer.create({
    model,
    train,
    config: trace.config,
    engine: farmerTfEngine({ workers: trace.workers }),
    signal: ac.signal,
    onEvent: (e: TrainEvent) => {
      if (e.type !== 'step') return;
      steps.push({ step: e.step, loss: e.loss, gradNorm: e.gradNorm, logdetPerDim: e.logdetPerDim, lr: e.lr, sigma: e.sigma });
      if (e.step === 20) ac.abort();
    },
  });
  await t.run();
  model.dispose();
  return steps;
}

describe('training results are unchanged by the move to @farmer/train', () => {
  for (const name of ['builtin-1-worker', 'experiment-c-2-workers']) {
    it(`${name}: the first 20 steps equal the trace recorded before the move, bit for bit`, async () => {
      const trace = fixture[name] as Trace;
      const steps = await first20(trace);
      expect(steps).toHaveLength(20);
      expect(steps.map((s) => s.loss)).toEqual(trace.steps.map((s) => s.loss));
      expect(steps).toEqual(trace.steps);
    }, 600_000);
  }
});
