import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, isFarmerError, makeDataset, Rng, tf, WHITE_BACKGROUND, type ImageDataset } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureClassifier, loadClassifier, MlpClassifier, parseClassifierConfig, saveClassifier, trainClassifier } from '../src/index.js';

const MNIST_CLASSIFIER = fileURLToPath(new URL('../../../models/mnist-small/classifier', import.meta.url));

/**
 * The identity of models/mnist-small/classifier as commit 1db04ba (before conv
 * stages) computed it: `(await loadClassifier(dir)).identity` with that
 * commit's build. Reference statistics cached under it must stay valid.
 */
const MNIST_IDENTITY_AT_1DB04BA = { id: 'farmer-mlp-classifier/mnist/penultimate', hash: 'd59cbdf90c435a7a53f3e610471d1e19ee04267a04a9c809e66c97096410708b' };

/**
 * A tiny colour set on white: a 3×3 blob of one of three colours (the class:
 * red, green, blue) at a random place in an 8×8 image, with pixel noise.
 */
function colourBlobs(count: number, seed: string, split: 'train' | 'test'): ImageDataset {
  const rng = new Rng(seed);
  const [h, w] = [8, 8];
  const colours = [
    [220, 40, 40],
    [40, 180, 40],
    [40, 40, 220],
  ];
  const data = new Uint8Array(count * h * w * 3).fill(255);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const k = rng.int(3);
    labels[i] = k;
    const [y0, x0] = [rng.int(h - 2), rng.int(w - 2)];
    for (let y = y0; y < y0 + 3; y++) for (let x = x0; x < x0 + 3; x++) for (let c = 0; c < 3; c++) data[((i * h + y) * w + x) * 3 + c] = colours[k][c];
  }
  for (let j = 0; j < data.length; j++) data[j] = Math.max(0, Math.min(255, data[j] + Math.round(20 * (rng.next() - 0.5))));
  return makeDataset({ name: 'blobs', split, images: { data, count, height: h, width: w, channels: 3 }, labels, numClasses: 3, classNames: ['red', 'green', 'blue'], background: WHITE_BACKGROUND });
}

describe('the built-in feature classifier (docs/method.md §13.7 Feature classifier)', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  describe('an MLP config is the MLP of before conv stages', () => {
    it('models/mnist-small/classifier loads with the same config JSON and identity hash', async () => {
      const clf = await loadClassifier(MNIST_CLASSIFIER);
      try {
        const onDisk = JSON.parse(readFileSync(join(MNIST_CLASSIFIER, 'config.json'), 'utf8')).model;
        expect(JSON.stringify(clf.config)).toBe(JSON.stringify(onDisk));
        expect(clf.identity).toEqual(MNIST_IDENTITY_AT_1DB04BA);
      } finally {
        await clf.dispose();
      }
    });

    it('an empty conv list is no conv at all: same config JSON and hash', async () => {
      const base = { channels: 1, height: 6, width: 6, hidden: [4], numClasses: 2, data: 'x' };
      expect(JSON.stringify(parseClassifierConfig({ ...base, conv: [] }))).toBe(JSON.stringify(parseClassifierConfig(base)));
      const a = FeatureClassifier.create(base, 3);
      const b = FeatureClassifier.create({ ...base, conv: [] }, 3);
      expect(b.identity).toEqual(a.identity);
      expect(a.identity.id).toBe('farmer-mlp-classifier/x/penultimate');
      expect(a.params.names()).toEqual(['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
      await a.dispose();
      await b.dispose();
    });

    it('MlpClassifier is still exported, as the same class', () => {
      expect(MlpClassifier).toBe(FeatureClassifier);
    });
  });

  describe('conv stages', () => {
    it('name their parameters conv.{i}.weight [9·Cin, Cout] (held) and conv.{i}.bias, then the MLP on H/2ⁿ·W/2ⁿ·C', async () => {
      const clf = FeatureClassifier.create({ channels: 3, height: 12, width: 8, conv: [4, 6], hidden: [5], numClasses: 3, data: 'blobs' });
      try {
        expect(clf.identity.id).toBe('farmer-conv-classifier/blobs/penultimate');
        expect(clf.params.names()).toEqual(['conv.0.weight', 'conv.0.bias', 'conv.1.weight', 'conv.1.bias', 'layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias']);
        expect(clf.params.get('conv.0.weight').shape).toEqual([27, 4]);
        expect(clf.params.get('conv.1.weight').shape).toEqual([36, 6]);
        // 12×8 → 6×4 → 3×2, 6 channels.
        expect(clf.params.get('layers.0.weight').shape).toEqual([3 * 2 * 6, 5]);
        const images = colourBlobs(5, 'shape', 'test').images;
        const before = tf.memory().numTensors;
        const f = await clf.extract(images).catch((e: unknown) => e); // 8×8, not 12×8
        expect(isFarmerError(f, 'FARMER_E_SHAPE')).toBe(true);
        const big = { data: new Uint8Array(5 * 12 * 8 * 3).fill(200), count: 5, height: 12, width: 8, channels: 3 };
        const feats = await clf.extract(big);
        expect([feats.count, feats.dim]).toEqual([5, 5]);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        await clf.dispose();
      }
    });

    it('more stages than the side can halve are refused (FARMER_E_BAD_CONFIG)', () => {
      let e: unknown;
      try {
        parseClassifierConfig({ channels: 3, height: 8, width: 32, conv: [2, 2, 2, 2], numClasses: 2 });
      } catch (err) {
        e = err;
      }
      expect(isFarmerError(e, 'FARMER_E_BAD_CONFIG')).toBe(true);
      expect((e as Error).message).toContain('at most 3');
      expect(parseClassifierConfig({ channels: 3, height: 8, width: 32, conv: [2, 2, 2], numClasses: 2 }).conv).toEqual([2, 2, 2]);
    });

    it('a tiny conv classifier learns a colour task on wasm well above chance, and survives a save/load round trip', async () => {
      const train = colourBlobs(192, 'train', 'train');
      const test = colourBlobs(96, 'test', 'test');
      const { classifier, testAccuracy } = await trainClassifier(train, test, { conv: [8], hidden: [16], epochs: 20, batchSize: 32, lr: 5e-3, seed: 1 });
      const dir = mkdtempSync(join(tmpdir(), 'farmer-conv-clf-'));
      try {
        expect(testAccuracy).toBeGreaterThan(0.8); // chance is 1/3
        await saveClassifier(dir, classifier, { testAccuracy });
        const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).model;
        expect(saved.conv).toEqual([8]);
        const back = await loadClassifier(dir);
        try {
          expect(back.identity).toEqual(classifier.identity);
          const [a, b] = [await classifier.extract(test.images), await back.extract(test.images)];
          expect(Array.from(b.data)).toEqual(Array.from(a.data));
          const pa = await classifier.predict(test.images);
          let hits = 0;
          for (let i = 0; i < pa.length; i++) hits += pa[i] === test.labels[i] ? 1 : 0;
          expect(hits / pa.length).toBeCloseTo(testAccuracy, 10);
        } finally {
          await back.dispose();
        }
      } finally {
        await classifier.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

});
