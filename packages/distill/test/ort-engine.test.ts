import { FarmerModel, preset } from '@farmer/ar-gmm';
import { initBackend, loadDataset, type ImageDataset } from '@farmer/core';
import { distillOrtEngine } from '@farmer/onnx/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { Distiller, distillTfEngine, type DistillEvent } from '../src/index.js';
import { subset } from './helpers.js';

// The distillation trainer on @farmer/onnx's onnxruntime engine (moved here from @farmer/onnx, which does not depend on this package).
let data: ImageDataset;
const losses = (events: { type: string; loss?: number }[]) => events.flatMap((e) => (e.type === 'step' ? [e.loss!] : []));
const relDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i])));

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  data = subset(await loadDataset('mnist'), 400);
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
});
