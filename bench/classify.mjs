// Bayes classification (docs/method.md §5.4 Bayes classification): images per second of classify() for the
// built-in model (mnist-small, 10 classes) on onnxruntime-node and tfjs-wasm, side by side
// in one run, against the naive way (the whole joint NLL once per class, K AF passes).
// The runtimes alternate rep by rep so load from other processes hits both alike.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify, loadTfRunner } from '@farmer/ar-gmm';
import { gatherExamples, initBackend, loadDataset, noisyImages, Rng } from '@farmer/core';
import { builtinModelDir } from '@farmer/models';
import { exportOnnx } from '@farmer/onnx';
import { loadOrtRunner } from '@farmer/onnx/runtime';
import { fmt, median, table } from './util.mjs';

const COUNT = 32;
const REPS = 3;

/** The naive classifier: lik.nll of the whole batch once per class. */
async function naive(lik, images) {
  const { values } = noisyImages(images, { mode: 'uniform' }, new Rng('naive'));
  for (let k = 0; k < lik.config.numClasses; k++) await lik.nll(values, images.count, new Int32Array(images.count).fill(k));
}

export async function benchClassify() {
  await initBackend({ backend: 'wasm' });
  const dir = builtinModelDir();
  const test = await loadDataset('mnist', { split: 'test' });
  const { images } = gatherExamples(test, Int32Array.from({ length: COUNT }, (_, i) => Math.floor((i * test.images.count) / COUNT)));
  const tmp = await fs.mkdtemp(join(tmpdir(), 'farmer-bench-classify-'));
  const tfRunner = await loadTfRunner(dir);
  let ort;
  try {
    await exportOnnx(dir, join(tmp, 'export'));
    ort = await loadOrtRunner(join(tmp, 'export'), { purposes: ['likelihood'] });
    const runners = [ort, tfRunner];
    const cases = [
      { name: 'classify (AF once, K classes batched), batch 16', run: (r) => classify(r, images, { batchSize: 16 }) },
      { name: 'naive: joint NLL once per class, batch 32', run: (r) => naive(r, images) },
    ];
    const rows = [];
    for (const c of cases) {
      for (const r of runners) await c.run(r); // warm-up
      const secs = runners.map(() => []);
      for (let k = 0; k < REPS; k++) {
        for (let j = 0; j < runners.length; j++) {
          const t = performance.now();
          await c.run(runners[j]);
          secs[j].push((performance.now() - t) / 1000);
        }
      }
      const ips = secs.map((s) => COUNT / median(s));
      rows.push({ case: c.name, 'onnxruntime img/s': fmt(ips[0], 1), 'tfjs-wasm img/s': fmt(ips[1], 1), 'ORT/tfjs': fmt(ips[0] / ips[1]) });
    }
    console.log(`\n## classify: built-in mnist-small, ${COUNT} test digits × 10 classes, median of ${REPS}`);
    table(rows);
  } finally {
    await ort?.dispose();
    tfRunner.dispose();
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
