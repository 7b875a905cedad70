// @farmer/ar-gmm benchmarks: mnist-small train-step time and images/s per backend,
// and data-parallel images/s with 1 and 2 workers measured side by side.
import { gatherExamples, initBackend, loadDataset } from '@farmer/core';
import { FarmerModel, preset, Trainer, workerEngine } from '@farmer/ar-gmm';
import { fmt, median, table } from './util.mjs';

async function stepTimes({ presetName, batchSize, steps, workers = 1, data }) {
  const model = FarmerModel.create(preset(presetName), 0);
  const times = [];
  const t = Trainer.create({
    model,
    train: data,
    config: { steps, batchSize, evalEvery: 0, checkpointEvery: 0 },
    engine: workerEngine({ workers }),
    onEvent: (e) => e.type === 'step' && times.push(batchSize / e.imagesPerSec),
  });
  const t0 = performance.now();
  await t.run();
  const wall = (performance.now() - t0) / 1000;
  t.dispose();
  model.dispose();
  const s = median(times.slice(1));
  return { stepS: s, imagesPerSec: batchSize / s, wallImagesPerSec: (steps * batchSize) / wall };
}

export async function benchTrain() {
  const all = await loadDataset('mnist');
  const data = { ...all, ...gatherExamples(all, Int32Array.from({ length: 2048 }, (_, i) => i)) };
  const rows = [];
  for (const backend of ['tensorflow', 'wasm', 'cpu']) {
    try {
      await initBackend({ backend });
    } catch {
      continue;
    }
    const slow = backend === 'cpu';
    const batchSize = slow ? 8 : 64;
    const r = await stepTimes({ presetName: 'mnist-small', batchSize, steps: slow ? 2 : 6, data });
    rows.push({ backend, batch: batchSize, workers: 1, 'step s': fmt(r.stepS, 2), 'images/s': fmt(r.imagesPerSec, 1) });
  }
  await initBackend();
  const one = await stepTimes({ presetName: 'mnist-small', batchSize: 64, steps: 12, workers: 1, data });
  const two = await stepTimes({ presetName: 'mnist-small', batchSize: 64, steps: 12, workers: 2, data });
  rows.push({ backend: 'wasm', batch: 64, workers: 2, 'step s': fmt(two.stepS, 2), 'images/s': fmt(two.imagesPerSec, 1) });
  console.log('\n## train: mnist-small (AdamW step incl. noise, clipping, EMA)');
  table(rows);
  console.log(`workers: 1 → ${fmt(one.wallImagesPerSec, 1)} images/s, 2 → ${fmt(two.wallImagesPerSec, 1)} images/s (wall clock, start-up included): ${fmt(two.wallImagesPerSec / one.wallImagesPerSec, 2)}× (target ≥ 1.6×)`);
}
