import { join } from 'node:path';
import { builtinModelDir, initBackend } from '@farmer/core';
import { loadTfRunner } from '@farmer/ar-gmm';
import { classifierAgreement, loadClassifier } from '@farmer/eval';
import { exportFreshness, openModel } from '@farmer/runtime';
import { generate } from '@farmer/sampling';
import { u8Diff } from '@farmer/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The model that ships in models/: its CFG samples must be recognisable digits.
describe('the built-in model (models/mnist-small)', () => {
  let runner: Awaited<ReturnType<typeof loadTfRunner>>;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    delete process.env.FARMER_MODELS_DIR;
    runner = await loadTfRunner(builtinModelDir());
  });
  afterAll(() => runner.dispose());

  it('is found without configuration and is a class-conditional mnist-small', () => {
    expect(builtinModelDir()).toMatch(/models[\\/]mnist-small$/);
    expect(runner.config.numClasses).toBe(10);
    expect(runner.config.flow.imageSize).toBe(28);
  });

  it('draws CFG samples that the built-in classifier labels as the requested digit at least 90% of the time', async () => {
    const labels = Array.from({ length: 100 }, (_, i) => i % 10);
    const r = await generate(runner, { count: labels.length, labels, seed: 2024, sampler: 'resampling-cfg', batchSize: 50 });
    const clf = await loadClassifier(join(builtinModelDir(), '..', 'classifier-mnist'));
    const a = await classifierAgreement(clf, r.images, r.labels);
    await clf.dispose();
    console.log(`built-in model: classifier agreement ${(a.agreement * 100).toFixed(1)}% on 100 CFG samples`);
    expect(a.agreement).toBeGreaterThanOrEqual(0.9);
  });

  it('ships an up-to-date ONNX export: it runs on onnxruntime with no flag and nothing to export, with the images tfjs gives', async () => {
    const dir = builtinModelDir();
    // After retraining the model, regenerate the export: npm run farmer -- export onnx (models/README.md).
    expect(await exportFreshness(join(dir, 'onnx'), dir)).toEqual({ current: true });
    const m = await openModel(dir);
    try {
      expect([m.runtime, m.exportDir, m.exported, m.runner.decoders]).toEqual(['onnxruntime', join(dir, 'onnx'), undefined, ['flow', 'student']]);
      const labels = Array.from({ length: 20 }, (_, i) => i % 10);
      const ort = await generate(m.runner, { count: 20, labels, seed: 2024, batchSize: 20 });
      const tf = await generate(runner, { count: 20, labels, seed: 2024, batchSize: 20 });
      // @farmer/onnx's README: identical u8 images, or at most 1 level apart on at most 0.1% of the pixels.
      const { differ, max } = u8Diff(ort.images.data, tf.images.data);
      console.log(`built-in model, 20 CFG samples, seed 2024: ${differ} of ${ort.images.data.length} pixels differ between onnxruntime and tfjs (max ${max})`);
      expect(max).toBeLessThanOrEqual(1);
      expect(differ).toBeLessThanOrEqual(0.001 * ort.images.data.length);
    } finally {
      await m.close();
    }
  });
});
