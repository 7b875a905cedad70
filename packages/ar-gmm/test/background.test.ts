import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, isFarmerError, readCheckpoint, type ImageDataset } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelBackground, modelImageOptions, parseFarmerConfig, preset, train, type FarmerConfigInput } from '../src/index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-bg-'));
const WHITE = [255, 255, 255] as const;

/** A tiny 8×8 RGB model of 2 classes (N = 16 tokens of d = 12). */
const COLOUR: FarmerConfigInput = {
  flow: { inChannels: 3, imageSize: 8, patchSize: 2, width: 16, numBlocks: 1, layersPerBlock: 1, headDim: 8 },
  ar: { width: 16, layers: 1, headDim: 8, prefixLength: 1, informativeDim: 4, componentsInformative: 2, componentsRedundant: 1 },
  numClasses: 2,
};

/** 16 random 8×8 RGB images of 2 classes, said to be composited on `background` (absent: black). */
function colourData(background?: readonly [number, number, number]): ImageDataset {
  const data = Uint8Array.from({ length: 16 * 8 * 8 * 3 }, (_, i) => (i * 2654435761) >>> 24);
  return {
    name: 'synthetic',
    split: 'train',
    images: { data, count: 16, height: 8, width: 8, channels: 3 },
    labels: Int32Array.from({ length: 16 }, (_, i) => i % 2),
    numClasses: 2,
    classNames: ['a', 'b'],
    ...(background ? { background } : {}),
  };
}

const modelOf = async (outDir: string) => (await readCheckpoint(join(outDir, 'checkpoint'), { parts: [] })).config.model;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('the background in the model config (docs/method.md §2.6 Transparency)', () => {
  it('round-trips with and without one; without, a shipped config parses and writes back to the same bytes (its manifest hash)', () => {
    const white = parseFarmerConfig({ ...COLOUR, background: [...WHITE] });
    expect(white.background).toEqual(WHITE);
    expect(parseFarmerConfig(JSON.parse(JSON.stringify(white)))).toEqual(white);
    expect(modelBackground(white)).toEqual(WHITE);
    expect(modelImageOptions(white)).toEqual({ imageSize: 8, channels: 3, background: WHITE });

    const none = parseFarmerConfig(COLOUR);
    expect('background' in none).toBe(false);
    expect(JSON.stringify(parseFarmerConfig(JSON.parse(JSON.stringify(none))))).toBe(JSON.stringify(none));
    expect(modelBackground(none)).toEqual([0, 0, 0]);

    for (const bad of [[256, 0, 0], [0, 0], [0.5, 0, 0], [-1, 0, 0], '#ffffff']) {
      expect(() => parseFarmerConfig({ ...COLOUR, background: bad }), JSON.stringify(bad)).toThrow(/background/);
    }

    // The shipped mnist-small checkpoint was written before backgrounds: parsed and written as the
    // checkpoint writer does, its config.json has the bytes (and so the SHA-256) its manifest records.
    const dir = fileURLToPath(new URL('../../../models/mnist-small/checkpoint/', import.meta.url));
    const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const bytes = `${JSON.stringify({ ...raw, model: parseFarmerConfig(raw.model) }, null, 2)}\n`;
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(manifest.files['config.json'].sha256);
  });

  it('a training run records the data\'s background when it is not black, and a resumed run keeps it', async () => {
    const config = { steps: 1, batchSize: 4, evalEvery: 0, checkpointEvery: 0 };
    const white = tmp();
    await train({ outDir: white, model: COLOUR, config, train: colourData(WHITE), test: { ...colourData(WHITE), split: 'test' } });
    expect((await modelOf(white)).background).toEqual(WHITE);

    // Resumed on the same data: still white, one step further.
    const resumed = await train({ outDir: white, resume: true, config: { steps: 2 }, train: colourData(WHITE) });
    expect(resumed.steps).toBe(2);
    expect((await modelOf(white)).background).toEqual(WHITE);
    // Resumed on data composited on black: refused, the checkpoint untouched.
    await expect(train({ outDir: white, resume: true, config: { steps: 3 }, train: colourData() })).rejects.toSatisfy(
      (e) => isFarmerError(e, 'FARMER_E_BAD_INPUT') && /background rgb\(0, 0, 0\).*trained on rgb\(255, 255, 255\)/.test(e.message),
    );
    expect((await modelOf(white)).background).toEqual(WHITE);

    // Black data (explicit or absent) records nothing, so grey and opaque models' configs are unchanged;
    // the data's background wins over one a config names, as the data's class names do.
    for (const background of [undefined, [0, 0, 0] as const]) {
      const black = tmp();
      await train({ outDir: black, model: { ...COLOUR, background: [...WHITE] }, config, train: colourData(background) });
      expect('background' in (await modelOf(black))).toBe(false);
    }
    expect('background' in (await modelOf(white))).toBe(true);

    // A test set on another background than the training set's is refused before anything is made.
    await expect(train({ outDir: tmp(), model: COLOUR, config, train: colourData(WHITE), test: { ...colourData(), split: 'test' } })).rejects.toSatisfy((e) =>
      isFarmerError(e, 'FARMER_E_BAD_INPUT'),
    );
  }, 120_000);

  it('presets name none (black)', () => {
    expect(modelBackground(preset('mnist-small'))).toEqual([0, 0, 0]);
  });
});
