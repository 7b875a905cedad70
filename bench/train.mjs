// @farmer/ar-gmm benchmarks: mnist-small train-step time and images/s per backend,
// and data-parallel images/s with 1 and 2 workers measured side by side.
import { gatherExamples, initBackend, loadDataset } from '@farmer/core';
import { FarmerModel, preset, Trainer, workerEngine } from '@farmer/ar-gmm';
import { fmt, median, table } from './util.mjs';

/** Per-step seconds (the first, warm-up step dropped) and wall-clock images/s of one short run. */
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
  return { times: times.slice(1), stepS: s, imagesPerSec: batchSize / s, wallImagesPerSec: (steps * batchSize) / wall };
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
  console.log('\n## train: mnist-small (AdamW step incl. noise, clipping, EMA)');
  table(rows);
  // 1 and 2 workers alternate (1, 2, 1, 2) so that drift in the machine's speed hits both alike.
  const steps = Number(process.env.FARMER_BENCH_TRAIN_STEPS ?? 8);
  const parallel = [];
  for (const batchSize of [64, 128]) {
    const times = { 1: [], 2: [] };
    for (let rep = 0; rep < 2; rep++) {
      for (const workers of [1, 2]) times[workers].push(...(await stepTimes({ presetName: 'mnist-small', batchSize, steps, workers, data })).times);
    }
    const one = batchSize / median(times[1]);
    const two = batchSize / median(times[2]);
    parallel.push({ batch: batchSize, '1 worker images/s': fmt(one, 1), '2 workers images/s': fmt(two, 1), 'speed-up': `${fmt(two / one, 2)}×` });
  }
  console.log(`\n## train: data-parallel workers, mnist-small, median step of 2 × ${steps - 1} steps each, runs alternating (target ≥ 1.6×)`);
  table(parallel);
}
