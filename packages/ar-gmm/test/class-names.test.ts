import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FASHION_MNIST_CLASSES, gatherExamples, initBackend, isFarmerError, loadDataset, readCheckpoint, type ImageDataset } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { className, FarmerModel, loadFarmer, parseFarmerConfig, preset, saveFarmer, train } from '../src/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-names-'));
/** The shipped mnist-small: a checkpoint written before class names existed. */

let data: ImageDataset;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  const mnist = await loadDataset('mnist', { split: 'test' });
  data = { ...mnist, ...gatherExamples(mnist, Int32Array.from({ length: 16 }, (_, i) => i)) };
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('class names in the model config', () => {
  it('are optional: a config without them parses, and classes are then named by number', () => {
    const c = parseFarmerConfig({ ...preset('mnist-tiny'), classNames: undefined });
    expect(c.classNames).toBeUndefined();
    expect(className(c, 3)).toBe('3');
    expect(className(preset('fashion-small'), 9)).toBe('Ankle boot');
    expect(preset('fashion-small').classNames).toEqual(FASHION_MNIST_CLASSES);
  });

  it('need one name per class', () => {
    const bad = () => parseFarmerConfig({ ...preset('mnist-tiny'), classNames: ['a', 'b'] });
    expect(bad).toThrow(/2 class names for numClasses 10/);
    expect(() => parseFarmerConfig({ ...preset('mnist-tiny'), classNames: ['', ...Array(9).fill('x')] })).toThrow(/classNames/);
  });

  it('old checkpoints (without names) still load, and a saved model keeps its names', async () => {
    // A checkpoint written without names (as every one before class names existed): the mnist-small preset has none.
    const dir = join(tmp(), 'old');
    const unnamed = FarmerModel.create(preset('mnist-small'), 0);
    await saveFarmer(dir, unnamed);
    unnamed.dispose();
    const old = await readCheckpoint(dir, { parts: [] });
    expect(old.config.model.classNames).toBeUndefined();
    const loaded = await loadFarmer(dir);
    expect(loaded.config.numClasses).toBe(10);
    expect(loaded.config.classNames).toBeUndefined();
    loaded.dispose();

    const named = FarmerModel.create(preset('fashion-small'), 0);
    const out = join(tmp(), 'named');
    await saveFarmer(out, named);
    named.dispose();
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model.classNames).toEqual(FASHION_MNIST_CLASSES);
    const back = await loadFarmer(out);
    expect(back.config.classNames).toEqual(FASHION_MNIST_CLASSES);
    back.dispose();
  });

  it('a training run takes them from the flag, else from the data when they fit the model', async () => {
    const config = { steps: 1, batchSize: 4, evalEvery: 0, checkpointEvery: 0 };
    const namesOf = async (outDir: string) => (await readCheckpoint(join(outDir, 'checkpoint'), { parts: [] })).config.model.classNames;

    const fromData = tmp();
    await train({ outDir: fromData, model: 'mnist-tiny', config, train: data });
    expect(await namesOf(fromData)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

    // The data's names win over a preset's: fashion-small's architecture trained on digits has digit names.
    const overPreset = tmp();
    await train({ outDir: overPreset, model: { ...preset('fashion-small'), flow: preset('mnist-tiny').flow, ar: preset('mnist-tiny').ar }, config, train: data });
    expect(await namesOf(overPreset)).toEqual(data.classNames);

    const given = tmp();
    const names = Array.from({ length: 10 }, (_, i) => `class ${String.fromCharCode(65 + i)}`);
    await train({ outDir: given, model: 'mnist-tiny', config, train: data, classNames: names });
    expect(await namesOf(given)).toEqual(names);

    const err = await rejection(train({ outDir: tmp(), model: 'mnist-tiny', config, train: data, classNames: ['a', 'b'] }));
    expect(isFarmerError(err, 'FARMER_E_BAD_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(/2 class names given for a model of 10 classes/);
  }, 120_000);
});
