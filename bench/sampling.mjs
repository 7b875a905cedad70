// @farmer/sampling benchmarks: seconds per image for mnist-small, split into the AR
// phase and the AF reverse, at batch 1 and 16, with and without CFG.
import { initBackend, tf } from '@farmer/core';
import { FarmerModel, preset, TfRunner } from '@farmer/ar-gmm';
import { generate } from '@farmer/sampling';
import { fmt, table } from './util.mjs';

/** mnist-small with small random proj_out weights, so the AF is not the identity. */
export function benchModel() {
  const model = FarmerModel.create(preset('mnist-small'), 0);
  for (const name of model.flow.params.names()) {
    if (!name.includes('proj_out')) continue;
    const v = model.flow.params.get(name);
    v.assign(tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 1), 0.01));
  }
  return model;
}

export async function timeGenerate(runner, { batch, cfg, decoder = 'flow', reps = 2 }) {
  const opts = { count: batch, batchSize: batch, labels: cfg ? Array.from({ length: batch }, (_, i) => i % 10) : null, sampler: cfg ? 'resampling-cfg' : 'decoupled', seed: 0, decoder };
  const warm = Math.min(batch, 2);
  await generate(runner, { ...opts, count: warm, batchSize: warm, labels: opts.labels && opts.labels.slice(0, warm) });
  let ar = 0;
  let af = 0;
  for (let r = 0; r < reps; r++) {
    const res = await generate(runner, { ...opts, seed: r });
    ar += res.timings.arSeconds;
    af += res.timings.afSeconds;
  }
  return { ar: ar / reps / batch, af: af / reps / batch };
}

export async function benchSampling() {
  await initBackend();
  const model = benchModel();
  const runner = new TfRunner(model);
  const rows = [];
  for (const batch of [1, 16]) {
    for (const cfg of [false, true]) {
      const t = await timeGenerate(runner, { batch, cfg, reps: batch === 1 ? 3 : 2 });
      rows.push({ batch, sampler: cfg ? 'resampling CFG' : 'decoupled', 'AR s/img': fmt(t.ar, 4), 'AF reverse s/img': fmt(t.af, 4), 'total s/img': fmt(t.ar + t.af, 4) });
    }
  }
  console.log(`\n## sampling: mnist-small (${tf.getBackend()}), seconds per image`);
  table(rows);
  model.dispose();
}
