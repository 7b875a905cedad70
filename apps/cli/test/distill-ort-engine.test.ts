import { FarmerModel, preset } from '@farmer/ar-gmm';
import { gatherExamples, initBackend, loadDataset, type ImageDataset } from '@farmer/core';
import { distillOrtEngine } from '@farmer/onnx/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { Distiller, distillTfEngine, type DistillEvent } from '@farmer/distill';

// The distillation trainer on @farmer/onnx's onnxruntime engine. It lives with the CLI, the
// lowest workspace that depends on both: @farmer/distill and @farmer/onnx sit in one tier and import
// neither each other nor, in tests, each other.
let data: ImageDataset;
const losses = (events: { type: string; loss?: number }[]) => events.flatMap((e) => (e.type === 'step' ? [e.loss!] : []));
const relDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i])));

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const all = await loadDataset('mnist');
  data = { ...all, ...gatherExamples(all, Int32Array.from({ length: 400 }, (_, i) => i)) };
});

describe('the onnxruntime distillation engine', () => {
  it('distils on onnxruntime, tracking tfjs (1e-3 relative over 10 steps)', async () => {
    const teacher = FarmerModel.create(preset('mnist-tiny'), 5);
    const go = async (engine: Parameters<typeof Distiller.create>[0]['engine']) => {
      const events: DistillEvent[] = [];
      const d = Distiller.create({ teacher, train: data, config: { steps: 10, batchSize: 8, evalEvery: 0, checkpointEvery: 0, init: 'teacher-identity' }, engine, onEvent: (e) => events.push(e) });
      const s = await d.run();
      d.dispose();
      return { events, s };
    };
    const ort = await go(distillOrtEngine({ threads: 1 }));
    const ref = await go(distillTfEngine());
    teacher.dispose();
    expect(ort.s.engine).toBe('ort');
    expect(relDiff(losses(ort.events), losses(ref.events))).toBeLessThan(1e-3);
  });

  it('distils data-parallel: 2 replicas give the one-session losses on the same batches (float rounding only)', async () => {
    const teacher = FarmerModel.create(preset('mnist-tiny'), 5);
    const go = async (workers: number) => {
      const events: DistillEvent[] = [];
      const d = Distiller.create({ teacher, train: data, config: { steps: 10, batchSize: 9, evalEvery: 0, checkpointEvery: 0, init: 'teacher-identity' }, engine: distillOrtEngine({ workers, threads: 1 }), onEvent: (e) => events.push(e) });
      const s = await d.run();
      d.dispose();
      return { events, s };
    };
    const one = await go(1);
    const two = await go(2);
    teacher.dispose();
    expect(two.s).toMatchObject({ engine: 'ort', workers: 2, threads: 1 });
    expect(losses(two.events)).toHaveLength(10);
    expect(relDiff(losses(two.events), losses(one.events))).toBeLessThan(1e-4);
  });

  it('evaluates the trained student, not its initial weights (no EMA: the engine holds the weights)', async () => {
    const teacher = FarmerModel.create(preset('mnist-tiny'), 5);
    const evals = async (engine: Parameters<typeof Distiller.create>[0]['engine']) => {
      const out: number[] = [];
      const d = Distiller.create({ teacher, train: data, test: data, config: { steps: 20, batchSize: 8, lr: 3e-3, evalEvery: 10, evalImages: 16, checkpointEvery: 0, init: 'teacher-identity' }, engine, onEvent: (e) => e.type === 'eval' && out.push((e as { mse: number }).mse) });
      await d.run();
      d.dispose();
      return out;
    };
    const ort = await evals(distillOrtEngine({ threads: 1 }));
    const ref = await evals(distillTfEngine());
    teacher.dispose();
    expect(ort).toHaveLength(2);
    // Training moves the student between the evaluations; the engines agree on it.
    expect(ort[1]).not.toBe(ort[0]);
    expect(relDiff(ort, ref)).toBeLessThan(1e-3);
  });
});
