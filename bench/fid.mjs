// FID ranking and stability on mnist-small with the built-in feature network
// (classifier-mnist, in @farmer/model-mnist-small): real test digits, CFG samples at a light guidance (w 0.25)
// and at the paper's w 2.5, samples without CFG, and samples of an untrained model, each
// at two seeds. On this class-conditional MNIST model FID grows with w (guidance trades
// diversity for class fidelity), so the FID-ranking claim holds for light guidance only.
// Uses onnxruntime for speed.
// Usage: npm run bench -- fid   (FARMER_FID_COUNT=5000 by default)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, loadDataset } from '@farmer/core';
import { builtinClassifierDir, builtinModelDir } from '@farmer/models';
import { FarmerModel, preset } from '@farmer/ar-gmm';
import { featureStats, frechetDistance, loadClassifier } from '@farmer/eval';
import { exportFarmerOnnx, exportOnnx } from '@farmer/onnx';
import { loadOrtRunner } from '@farmer/onnx/runtime';
import { generate } from '@farmer/sampling';
import { fmt, table } from './util.mjs';

export async function benchFid() {
  await initBackend();
  const count = Number(process.env.FARMER_FID_COUNT ?? 5000);
  const root = builtinModelDir();
  const clf = await loadClassifier(builtinClassifierDir('classifier-mnist'));
  const train = await loadDataset('mnist');
  const test = await loadDataset('mnist', { split: 'test' });
  const ref = featureStats(await clf.extract(train.images));
  const fid = async (images) => frechetDistance(ref, featureStats(await clf.extract(images)));
  const tmp = mkdtempSync(join(tmpdir(), 'farmer-fid-'));
  const trained = await loadOrtRunner((await exportOnnx(root, join(tmp, 'trained'))).dir);
  const untrainedModel = FarmerModel.create(preset('mnist-small'), 123);
  const untrained = await loadOrtRunner((await exportFarmerOnnx(untrainedModel, join(tmp, 'untrained'))).dir);
  untrainedModel.dispose();
  const labels = Array.from({ length: count }, (_, i) => i % 10);
  const draw = async (runner, seed, sampler, cfg) => (await generate(runner, { count, labels, seed, sampler, cfg, batchSize: 64 })).images;
  const rows = [{ set: 'real test digits (997)', 'seed 0': fmt(await fid(test.images), 2), 'seed 1': '-', '± % of mean': '-' }];
  for (const [name, runner, sampler, cfg] of [
    ['CFG samples (resampling, w 0.25)', trained, 'resampling-cfg', { w: 0.25 }],
    ['CFG samples (resampling, w 2.5)', trained, 'resampling-cfg', { w: 2.5 }],
    ['samples without CFG (decoupled)', trained, 'decoupled'],
    ['untrained model', untrained, 'decoupled'],
  ]) {
    const t0 = performance.now();
    const a = await fid(await draw(runner, 0, sampler, cfg));
    const b = await fid(await draw(runner, 1, sampler, cfg));
    rows.push({ set: name, 'seed 0': fmt(a, 2), 'seed 1': fmt(b, 2), '± % of mean': fmt((100 * Math.abs(a - b)) / (a + b), 1) });
    console.error(`${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  console.log(`\n## FID (built-in classifier features, reference: ${train.images.count} training digits), ${count} samples per set`);
  table(rows);
  await trained.dispose();
  await untrained.dispose();
  await clf.dispose();
}
