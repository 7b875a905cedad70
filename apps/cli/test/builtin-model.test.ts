import { join } from 'node:path';
import { builtinModelDir, initBackend } from '@farmer/core';
import { loadTfRunner } from '@farmer/ar-gmm';
import { classifierAgreement, loadClassifier } from '@farmer/eval';
import { generate } from '@farmer/sampling';
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
});
