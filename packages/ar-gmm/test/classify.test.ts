import { initBackend, isFarmerError, noisyImages, Rng, sliceImages, tf, type ImageDataset, type U8Images } from '@farmer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify, classPosterior, FarmerModel, fitTemperature, preset, tfLikelihood, Trainer, type FarmerLikelihood } from '../src/index.js';

/**
 * Two clearly different classes of 28×28 images: class 0 bright vertical
 * bars, class 1 bright horizontal bars, each at a random phase and contrast.
 */
function bars(count: number, seed: string): { images: U8Images; labels: Int32Array } {
  const rng = new Rng(seed);
  const data = new Uint8Array(count * 28 * 28);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const y = i % 2;
    labels[i] = y;
    const phase = rng.int(6);
    const hi = 180 + rng.int(76);
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        const on = ((y === 0 ? c : r) + phase) % 6 < 3;
        data[i * 784 + r * 28 + c] = on ? hi : rng.int(30);
      }
    }
  }
  return { images: { data, count, height: 28, width: 28, channels: 1 }, labels };
}

const config = { ...preset('mnist-tiny'), numClasses: 2 };
let model: FarmerModel;
let lik: FarmerLikelihood;
const test = bars(40, 'bars:test');

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const { images, labels } = bars(128, 'bars:train');
  const train: ImageDataset = { name: 'bars', split: 'train', images, labels, numClasses: 2, classNames: ['vertical', 'horizontal'] };
  model = FarmerModel.create(config, 7);
  const t = Trainer.create({ model, train, config: { steps: 100, batchSize: 16, lr: 3e-3, warmupSteps: 5, evalEvery: 0, checkpointEvery: 0, noise: { mode: 'uniform' } } });
  await t.run();
  t.dispose();
  lik = tfLikelihood(model);
}, 300_000); // tfjs-wasm training of mnist-tiny: ~20 s alone, longer on a loaded 2-core machine

afterAll(() => model?.dispose());

/** Direct log p(x|y) of image b under class k, one image and one class per pass, from the same dequantised values. */
async function directLogLik(values: Float32Array, b: number, k: number): Promise<number> {
  const per = 784;
  const r = await lik.nll(values.slice(b * per, (b + 1) * per), 1, [k]);
  return -r.nllPerDim[0] * model.dims.numTokens * model.dims.tokenDim;
}

describe('classify (Bayes rule on a trained mnist-tiny)', () => {
  it('tells the two synthetic classes apart (≥ 90% accuracy)', async () => {
    const r = await classify(lik, test.images, { batchSize: 8 });
    const correct = r.predicted.reduce((s, p, i) => s + (p === test.labels[i] ? 1 : 0), 0);
    console.log(`bars accuracy ${correct}/${test.images.count}`);
    expect(correct / test.images.count).toBeGreaterThanOrEqual(0.9);
  });

  it('posterior rows sum to 1 and equal a softmax of log-likelihoods computed image by image and class by class', async () => {
    const few = sliceImages(test.images, 0, 6);
    const r = await classify(lik, few, { rng: new Rng('same-noise'), temperature: 40 });
    // The same noise draws classify makes: one per pixel, shared by every class.
    const { values } = noisyImages(few, { mode: 'uniform' }, new Rng('same-noise'));
    for (let b = 0; b < few.count; b++) {
      const direct = [await directLogLik(values, b, 0), await directLogLik(values, b, 1)];
      for (let k = 0; k < 2; k++) expect(Math.abs(r.logLik[b * 2 + k] - direct[k])).toBeLessThan(1e-5 * Math.abs(direct[k]));
      const m = Math.max(...direct.map((v) => v / 40));
      const e = direct.map((v) => Math.exp(v / 40 - m));
      const z = e[0] + e[1];
      expect(r.posterior[b * 2] + r.posterior[b * 2 + 1]).toBeCloseTo(1, 12);
      for (let k = 0; k < 2; k++) expect(Math.abs(r.posterior[b * 2 + k] - e[k] / z)).toBeLessThan(1e-4);
    }
  });

  it('the batched per-class pass equals one class at a time over the batch to 1e-5', async () => {
    const B = 8;
    const some = sliceImages(test.images, 0, B);
    const r = await classify(lik, some, { rng: new Rng('batched'), batchSize: 3 });
    const { values } = noisyImages(some, { mode: 'uniform' }, new Rng('batched'));
    const Nd = model.dims.numTokens * model.dims.tokenDim;
    for (let k = 0; k < 2; k++) {
      const one = await lik.nll(values, B, new Int32Array(B).fill(k));
      for (let b = 0; b < B; b++) expect(Math.abs(r.logLik[b * 2 + k] / Nd + one.nllPerDim[b])).toBeLessThan(1e-5);
    }
    // Bits/dim under the most likely class, and the AF's share per dim.
    for (let b = 0; b < B; b++) {
      const best = Math.max(r.logLik[b * 2], r.logLik[b * 2 + 1]);
      expect(r.bitsPerDim[b]).toBeCloseTo((-best / Nd + Math.log(128)) / Math.LN2, 9);
    }
    const ld = await lik.nll(values, B, null);
    for (let b = 0; b < B; b++) expect(r.logdetPerDim[b]).toBeCloseTo(ld.logdet[b] / Nd, 5);
  });

  it('keeps the tensor count flat', async () => {
    const before = tf.memory().numTensors;
    await classify(lik, sliceImages(test.images, 0, 4));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an unconditional model, a wrong geometry and bad options with clear errors', async () => {
    const uncond = FarmerModel.create({ ...config, numClasses: 0 }, 1);
    try {
      await expect(classify(tfLikelihood(uncond), test.images)).rejects.toThrow(/unconditional/);
    } finally {
      uncond.dispose();
    }
    const small: U8Images = { data: new Uint8Array(16), count: 1, height: 4, width: 4, channels: 1 };
    await expect(classify(lik, small)).rejects.toSatisfy((e: unknown) => isFarmerError(e) && e.code === 'FARMER_E_SHAPE');
    await expect(classify(lik, test.images, { temperature: 0 })).rejects.toThrow(/temperature/);
    await expect(classify(lik, test.images, { prior: [1] })).rejects.toThrow(/prior/);
  });
});

describe('classPosterior', () => {
  it('is Bayes rule with a tempered likelihood: closed forms, prior, and huge log-likelihoods', () => {
    const near = (a: ArrayLike<number>, b: number[]) => b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 12));
    near(classPosterior([0, Math.log(3)], 2), [0.25, 0.75]);
    near(classPosterior([0, Math.log(9)], 2, { temperature: 2 }), [0.25, 0.75]);
    near(classPosterior([0, 0], 2, { prior: [3, 1] }), [0.75, 0.25]);
    // log p(x|y) of whole images are thousands of nats: still a finite posterior.
    const huge = classPosterior([-1e5, -1e5 + Math.log(3)], 2);
    expect(huge[0]).toBeCloseTo(0.25, 9);
    expect(huge[1]).toBeCloseTo(0.75, 9);
    expect(Array.from(classPosterior([NaN, 0], 2)).every(Number.isNaN)).toBe(true);
    expect(() => classPosterior([0, 0], 2, { prior: [1, 0] })).toThrow(/prior\[1\]/);
    expect(() => classPosterior([0, 0, 0], 2)).toThrow(/multiple of K/);
  });
});

describe('fitTemperature', () => {
  it('recovers the temperature that generated the labels', () => {
    const rng = new Rng('fit-t');
    const n = 3000;
    const K = 3;
    const logLik = Float64Array.from(rng.uniform(n * K), (u) => -1000 + 40 * u);
    const p = classPosterior(logLik, K, { temperature: 8 });
    const labels = Int32Array.from({ length: n }, (_, i) => {
      const u = rng.next();
      return u < p[i * K] ? 0 : u < p[i * K] + p[i * K + 1] ? 1 : 2;
    });
    const { temperature } = fitTemperature(logLik, labels, K);
    expect(temperature).toBeGreaterThan(6.5);
    expect(temperature).toBeLessThan(9.5);
    expect(() => fitTemperature(logLik, labels.subarray(1), K)).toThrow(/labels/);
  });
});
