// @farmer/onnx gradient graph: one loss-and-gradients evaluation of mnist-small at batch 64 on
// onnxruntime (OrtGradient) against tfjs-wasm's lossAndGrads, runs alternating, wall and CPU
// time (CPU time is what a shared machine cannot steal), plus an onnxruntime profile summary.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng, tf } from '@farmer/core';
import { FarmerModel, lossAndGrads, preset } from '@farmer/ar-gmm';
import { OrtGradient } from '@farmer/onnx/runtime';
import { fmt, median, table } from './util.mjs';

const B = Number(process.env.FARMER_BENCH_GRAD_BATCH ?? 64);
const REPS = Number(process.env.FARMER_BENCH_GRAD_REPS ?? 5);

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function timed(fn) {
  const c = cpuMs();
  const t = performance.now();
  await fn();
  return { wall: performance.now() - t, cpu: cpuMs() - c };
}

/** Per op type: kernel time per run, its share, calls per run; and the run time not spent in kernels. */
function profileSummary(file) {
  const events = JSON.parse(readFileSync(file, 'utf8'));
  const runs = events.filter((e) => e.name === 'model_run');
  const after = runs[0].ts + runs[0].dur; // the first run plans memory; leave it out
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts > after);
  const n = runs.length - 1;
  const byOp = new Map();
  for (const e of kernels) {
    const op = e.args.op_name;
    const s = byOp.get(op) ?? { us: 0, calls: 0 };
    s.us += e.dur;
    s.calls++;
    byOp.set(op, s);
  }
  const kernelUs = kernels.reduce((a, e) => a + e.dur, 0);
  const runUs = runs.slice(1).reduce((a, e) => a + e.dur, 0);
  const matMul = ['MatMul', 'FusedMatMul', 'Gemm'].reduce((a, op) => a + (byOp.get(op)?.us ?? 0), 0);
  return {
    rows: [...byOp.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, 15)
      .map(([op, s]) => ({ op, 'ms/run': fmt(s.us / n / 1000, 1), share: `${fmt((100 * s.us) / kernelUs, 1)}%`, 'calls/run': s.calls / n })),
    runMs: runUs / n / 1000,
    kernelsPerRun: kernels.length / n,
    matMulShare: matMul / kernelUs,
    overheadUsPerKernel: (runUs - kernelUs) / kernels.length,
  };
}

export async function benchOrtGrad() {
  await initBackend({ backend: 'wasm' });
  const config = preset('mnist-small');
  const model = FarmerModel.create(config, 0);
  const rng = new Rng('bench-ort-grad');
  // A trained-looking flow: a zero proj_out would skip work in neither engine, but keeps logdets trivial.
  for (const v of model.variables()) {
    if (!/proj_out/.test(v.name)) continue;
    const t = tf.tidy(() => tf.add(v, rng.normalTensor(v.shape, 0.01)));
    v.assign(t);
    t.dispose();
  }
  const images = rng.uniform(B * 28 * 28, -1, 1);
  const labels = Int32Array.from({ length: B }, (_, i) => (i % 10 === 9 ? -1 : i % 10));
  const shape = [B, 1, 28, 28];
  const values = model.variableValues();
  const engines = {
    'ort 1 thread': await OrtGradient.create(config, { threads: 1 }),
    'ort 2 threads': await OrtGradient.create(config, { threads: 2 }),
    'ort 1 thread, static batch': await OrtGradient.create(config, { threads: 1, batchShapes: 'static' }),
  };
  const runs = {
    ...Object.fromEntries(Object.entries(engines).map(([k, e]) => [k, () => e.run(values, images, shape, labels)])),
    'tfjs-wasm lossAndGrads': () => lossAndGrads(model, { values: images, shape, labels, sigma: 0 }).grads.forEach((g) => g.dispose()),
  };
  const times = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
  for (const fn of Object.values(runs)) await fn(); // warm-up: sessions, kernels
  for (let r = 0; r < REPS; r++) for (const [k, fn] of Object.entries(runs)) times[k].push(await timed(fn));
  const tfjsWall = median(times['tfjs-wasm lossAndGrads'].map((t) => t.wall));
  const tfjsCpu = median(times['tfjs-wasm lossAndGrads'].map((t) => t.cpu));
  console.log(`\n## ort-grad: loss + every gradient, mnist-small, batch ${B}, median of ${REPS} (alternating)`);
  table(
    Object.entries(times).map(([k, ts]) => {
      const wall = median(ts.map((t) => t.wall));
      const cpu = median(ts.map((t) => t.cpu));
      return { engine: k, 'wall ms': fmt(wall, 0), 'cpu ms': fmt(cpu, 0), 'images/s (wall)': fmt((1000 * B) / wall, 0), 'vs tfjs (wall)': `${fmt(tfjsWall / wall, 1)}×`, 'vs tfjs (cpu)': `${fmt(tfjsCpu / cpu, 1)}×` };
    }),
  );
  for (const e of Object.values(engines)) await e.dispose();

  const prefix = join(tmpdir(), `farmer-ort-grad-${process.pid}`);
  const profiled = await OrtGradient.create(config, { threads: 1, profileFilePrefix: prefix });
  for (let r = 0; r <= REPS; r++) await profiled.run(values, images, shape, labels);
  await profiled.dispose();
  const file = readdirProfile(prefix);
  const p = profileSummary(file);
  rmSync(file, { force: true });
  console.log(
    `\n## ort-grad: onnxruntime profile, 1 thread: ${fmt(p.runMs, 0)} ms/run, ${p.kernelsPerRun} kernels/run, ` +
      `matMul (MatMul/FusedMatMul/Gemm) ${fmt(100 * p.matMulShare, 0)}% of kernel time, ${fmt(p.overheadUsPerKernel, 1)} µs/kernel outside kernels`,
  );
  table(p.rows);
  model.dispose();
}

function readdirProfile(prefix) {
  const dir = tmpdir();
  const base = prefix.slice(dir.length + 1);
  const match = readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'));
  return join(dir, match[0]);
}
