// The distillation gradient on onnxruntime against tfjs. It lives with the CLI, the lowest workspace
// that depends on both @farmer/distill and @farmer/onnx (one tier; neither imports the other).

import { preset } from '@farmer/ar-gmm';
import { initBackend, Rng, type Batch } from '@farmer/core';
import { Flow, flowDims, Student, type FlowConfigInput } from '@farmer/flow';
import { beforeAll, describe, expect, it } from 'vitest';
import { OrtDistillGradient } from '@farmer/onnx/runtime';
import { distillLossAndGrads, parseDistillConfig, prepareDistillBatch } from '@farmer/distill';
import { randomize } from '@farmer/test-utils';

/** The same bounds as the FARMER objective: per parameter max|ORT − tfjs| ≤ 1e-4·max(max|tfjs|, 1e-3); loss to 1e-5 relative. */
const GRAD_TOL = 1e-4;
const LOSS_TOL = 1e-5;
const B = 4;

const tinyFlow = preset('mnist-tiny').flow;
const CONFIGS: Record<string, { flow: FlowConfigInput; dataNoise: 'uniform' | 'none'; noiseScale: 'per-sample' | 'per-batch' }> = {
  'mnist-tiny AF, per-sample s, uniform data noise': { flow: tinyFlow, dataNoise: 'uniform', noiseScale: 'per-sample' },
  '3 blocks, class table (null vector), alphaClamp, per-batch s': { flow: { ...tinyFlow, numBlocks: 3, numClasses: 10, alphaClamp: 1.5 }, dataNoise: 'none', noiseScale: 'per-batch' },
  'volume-preserving (nvp false)': { flow: { ...tinyFlow, nvp: false }, dataNoise: 'uniform', noiseScale: 'per-sample' },
};

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('ORT distillation gradients equal tfjs autodiff', () => {
  let seed = 0;
  for (const [name, { flow, dataNoise, noiseScale }] of Object.entries(CONFIGS)) {
    const s = ++seed;
    it(name, async () => {
      const teacher = Flow.create(flow, s);
      randomize(teacher.params, 100 + s, { scale: 0.1, projOut: 0.05, stream: 'onnx-randomize' });
      const student = Student.fromTeacher(teacher);
      randomize(student.params, 200 + s, { scale: 0.1, projOut: 0.05, stream: 'onnx-randomize' });
      const rng = new Rng(`distill-batch:${s}`);
      const data = new Uint8Array(B * 28 * 28);
      for (let i = 0; i < data.length; i++) data[i] = Math.floor(rng.next() * 256);
      const batch: Batch = { images: { data, count: B, height: 28, width: 28, channels: 1 }, labels: new Int32Array(B), indices: new Int32Array(B), epoch: 0 };
      const cfg = parseDistillConfig({ steps: 10, dataNoise, noiseScale });
      const b = prepareDistillBatch(batch, cfg, rng, flowDims(teacher.config));
      const engine = await OrtDistillGradient.create(teacher.config, { threads: 1 });
      try {
        expect(engine.student.map((p) => p.name)).toEqual(student.variableNames());
        const values = (vs: { dataSync(): unknown }[]) => vs.map((v) => Float32Array.from(v.dataSync() as Float32Array));
        const got = await engine.run(values(student.variables()), values(teacher.params.variables()), b);
        const want = distillLossAndGrads(teacher, student, b);
        try {
          expect(want.loss).toBeGreaterThan(1e-3);
          expect(Math.abs(got.loss - want.loss)).toBeLessThanOrEqual(LOSS_TOL * want.loss);
          got.blockMse.forEach((m, t) => expect(Math.abs(m - want.blockMse[t]), `block ${t}`).toBeLessThanOrEqual(LOSS_TOL * want.blockMse[t] + 1e-9));
          const names = student.variableNames();
          want.grads.forEach((g, i) => {
            const ref = g.dataSync() as Float32Array;
            let err = 0;
            let scale = 0;
            for (let j = 0; j < ref.length; j++) {
              err = Math.max(err, Math.abs(got.grads[i][j] - ref[j]));
              scale = Math.max(scale, Math.abs(ref[j]));
            }
            expect(scale, `${names[i]} gets a gradient`).toBeGreaterThan(0);
            expect(err, `${names[i]}: max|ORT − tfjs| = ${err.toExponential(2)}, max|tfjs| = ${scale.toExponential(2)}`).toBeLessThanOrEqual(GRAD_TOL * Math.max(scale, 1e-3));
          });
        } finally {
          want.grads.forEach((g) => g.dispose());
        }
      } finally {
        await engine.dispose();
        student.dispose();
        teacher.dispose();
      }
    });
  }
});
