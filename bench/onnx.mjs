// @farmer/onnx benchmarks: seconds per image of generate() for mnist-small (random
// weights) on onnxruntime-node vs tfjs-wasm, split into the AR phase and the AF
// reverse, at batch 1 and 16, with and without CFG. Ratios come from one run, side
// by side (the machine is shared and noisy). Target: ORT ≥ 3× faster at batch 16.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { farmerDims, FarmerModel, preset, TfRunner } from '@farmer/ar-gmm';
import { initBackend, Rng, tf } from '@farmer/core';
import { exportFarmerOnnx } from '@farmer/onnx';
import { describeExecutionProvider, loadOrtRunner } from '@farmer/onnx/runtime';
import { generate } from '@farmer/sampling';
import { fmt, median, randomise, table } from './util.mjs';

/** generate() options for one bench case. */
function caseOptions(batch, cfg, seed) {
  return {
    count: batch,
    batchSize: batch,
    seed,
    ...(cfg ? { labels: Array.from({ length: batch }, (_, i) => i % 10), sampler: 'resampling-cfg' } : { sampler: 'decoupled' }),
  };
}

/** Seconds per image of generate()'s AR and AF phases (one run). */
async function generateOnce(runner, batch, cfg, seed) {
  const { timings } = await generate(runner, caseOptions(batch, cfg, seed));
  return { ar: timings.arSeconds / batch, af: timings.afSeconds / batch };
}

/** Seconds per image of the AR network alone (no sampling math): prefill + N steps per stream, two streams with CFG. */
async function arNetworkOnce(runner, batch, cfg) {
  const { numTokens: N, dI, dR } = farmerDims(runner.config);
  const zI = new Rng('bench-zI').normal(batch * dI, 0, 1);
  const t = performance.now();
  const streams = [runner.openArStream(new Array(batch).fill(cfg ? 3 : -1))];
  if (cfg) streams.push(runner.openArStream(new Array(batch).fill(-1)));
  try {
    for (const s of streams) await s.first();
    for (let i = 0; i < (dR > 0 ? N : N - 1); i++) for (const s of streams) await s.next(zI);
  } finally {
    for (const s of streams) s.dispose();
  }
  return (performance.now() - t) / 1000 / batch;
}

/**
 * One bench case: after a warm-up of each, the runtimes alternate run by
 * run (so load from other processes hits both alike); medians per runtime.
 */
async function benchCase(runners, batch, cfg, reps) {
  const res = runners.map(() => ({ ar: [], af: [], net: [] }));
  for (const r of runners) {
    await generateOnce(r, batch, cfg, 1);
    await arNetworkOnce(r, batch, cfg);
  }
  for (let k = 0; k < reps; k++) {
    for (let j = 0; j < runners.length; j++) {
      const g = await generateOnce(runners[j], batch, cfg, 2 + k);
      res[j].ar.push(g.ar);
      res[j].af.push(g.af);
      res[j].net.push(await arNetworkOnce(runners[j], batch, cfg));
    }
  }
  return res.map((r) => ({ ar: median(r.ar), af: median(r.af), net: median(r.net) }));
}

export async function benchOnnx() {
  await initBackend({ backend: 'wasm' });
  const config = preset('mnist-small');
  const model = FarmerModel.create(config, 0);
  randomise(model.flow.params, 'bench-onnx:1');
  randomise(model.ar.params, 'bench-onnx:2');
  const dir = await fs.mkdtemp(join(tmpdir(), 'farmer-bench-onnx-'));
  const tfRunner = new TfRunner(model);
  let ortRunner;
  try {
    await exportFarmerOnnx(model, join(dir, 'export'));
    ortRunner = await loadOrtRunner(join(dir, 'export'), { purposes: ['sample'] });
    const rows = [];
    for (const batch of [1, 16]) {
      for (const cfg of [false, true]) {
        const [t, o] = await benchCase([tfRunner, ortRunner], batch, cfg, batch === 1 ? 5 : 3);
        rows.push({
          batch,
          cfg: cfg ? 'resampling' : 'none',
          'tfjs AR': fmt(t.ar, 4),
          'ORT AR': fmt(o.ar, 4),
          'AR ×': `${fmt(t.ar / o.ar, 2)}×`,
          'tfjs AR net': fmt(t.net, 4),
          'ORT AR net': fmt(o.net, 4),
          'AR net ×': `${fmt(t.net / o.net, 2)}×`,
          'tfjs AF': fmt(t.af, 4),
          'ORT AF': fmt(o.af, 4),
          'AF ×': `${fmt(t.af / o.af, 2)}×`,
          'total ×': `${fmt((t.ar + t.af) / (o.ar + o.af), 2)}×`,
        });
      }
    }
    console.log(`\n## onnx: generate() on mnist-small (random weights), seconds per image, tfjs ${tf.getBackend()} vs ${describeExecutionProvider(ortRunner.executionProvider)}`);
    console.log('seconds per image. AR = generate()\'s AR phase (network + host sampling math, the same on both runtimes); AR net = the AR network alone');
    console.log('(prefill + N steps per stream, two streams with CFG); AF = KV-cached AF reverse. Medians, runtimes alternating run by run.');
    table(rows);
  } finally {
    await ortRunner?.dispose();
    model.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchOnnx();
