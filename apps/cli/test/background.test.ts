import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmerModel, saveFarmer } from '@farmer/ar-gmm';
import { BLACK_BACKGROUND, compositeRgba, decodeSafetensors, encodePng, initBackend, toFloat32, WHITE_BACKGROUND, type Background } from '@farmer/core';
import { randomize } from '@farmer/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { backgroundFlag } from '../src/flags.js';

// A tiny 8×8 RGB model trained for a step or two on a folder of RGBA PNGs composited on white
// (`farmer train --background white`), then asked to classify PNGs with transparent pixels.
const BIN = join(__dirname, '..', 'dist', 'bin.js');
let work: string;

function farmer(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, env: { ...process.env, FARMER_BACKEND: 'wasm', FARMER_CACHE: join(work, 'cache') }, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** 8×8 straight RGBA: colours that vary with `seed`, alpha 0 in the top row, 128 in the next, opaque below. */
function rgba(seed: number): Uint8Array {
  const d = new Uint8Array(8 * 8 * 4);
  for (let p = 0; p < 64; p++) d.set([(p * 37 + seed * 11) % 256, (p * 91 + seed * 7) % 256, (255 - p * 3 - seed) & 255, p < 8 ? 0 : p < 16 ? 128 : 255], p * 4);
  return d;
}

const rgbaPng = (px: Uint8Array) => encodePng({ data: px, count: 1, height: 8, width: 8, channels: 4 });
/** The same pixels composited on `bg` by the rule of docs/method.md §2.6 Transparency, as an opaque RGB PNG. */
const flatPng = (px: Uint8Array, bg: Background) => encodePng({ data: compositeRgba(px, 3, bg), count: 1, height: 8, width: 8, channels: 3 });

const modelOf = (run: string) => JSON.parse(readFileSync(join(run, 'checkpoint', 'config.json'), 'utf8')).model;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'farmer-cli-bg-'));
  for (const split of ['train', 'test']) {
    for (const cls of ['a', 'b']) {
      mkdirSync(join(work, 'icons', split, cls), { recursive: true });
      for (let i = 0; i < 4; i++) writeFileSync(join(work, 'icons', split, cls, `${i}.png`), rgbaPng(rgba(i + (cls === 'b' ? 50 : 0) + (split === 'test' ? 100 : 0))));
    }
  }
  const model = {
    flow: { inChannels: 3, imageSize: 8, patchSize: 2, width: 16, numBlocks: 1, layersPerBlock: 1, headDim: 8 },
    ar: { width: 16, layers: 1, headDim: 8, prefixLength: 1, informativeDim: 4, componentsInformative: 2, componentsRedundant: 1 },
    numClasses: 2,
  };
  writeFileSync(join(work, 'tiny-rgb.json'), JSON.stringify({ model }));
});

describe('--background', () => {
  it('parses black, white and #rrggbb, and nothing else', () => {
    const parse = backgroundFlag('--background');
    expect(parse('white')).toEqual([255, 255, 255]);
    expect(parse('Black')).toEqual([0, 0, 0]);
    expect(parse('#FF8000')).toEqual([255, 128, 0]);
    for (const bad of ['grey', '#fff', 'ff8000', '#ff80001', 'rgb(1,2,3)', '']) expect(() => parse(bad), bad).toThrow(/black, white or #rrggbb/);
  });
});

describe('a model trained on a white background', () => {
  const run = () => join(work, 'run');
  beforeAll(() => {
    const tr = farmer(['train', '--config', 'tiny-rgb.json', '--data', 'folder:icons', '--image-size', '8', '--channels', '3', '--background', 'white', '--steps', '1', '--batch-size', '4', '--engine', 'tfjs', '--workers', '1', '--out', 'run']);
    expect(tr.code, tr.stderr).toBe(0);
  }, 300_000);

  it('records it; a resumed run keeps it (and refuses another); --background is for folder: data only', () => {
    expect(modelOf(run()).background).toEqual([255, 255, 255]);
    const re = farmer(['train', '--out', 'run', '--resume', '--steps', '2', '--workers', '1']);
    expect(re.code, re.stderr).toBe(0);
    expect(modelOf(run()).background).toEqual([255, 255, 255]);
    const other = farmer(['train', '--out', 'run', '--resume', '--steps', '3', '--workers', '1', '--background', 'black']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/trained on rgb\(255, 255, 255\)/);
    const mnist = farmer(['train', '--preset', 'mnist-tiny', '--data', 'mnist', '--background', 'white', '--steps', '1', '--out', 'run-mnist']);
    expect(mnist.code).toBe(2);
    expect(mnist.stderr).toMatch(/--background is for folder: data/);
  }, 300_000);

  it('farmer classify and farmer encode composite a PNG\'s transparent pixels on it: the bits/dim (and latents) of the image pre-composited on white, not on black', () => {
    const px = rgba(7);
    writeFileSync(join(work, 'alpha.png'), rgbaPng(px));
    writeFileSync(join(work, 'on-white.png'), flatPng(px, WHITE_BACKGROUND));
    writeFileSync(join(work, 'on-black.png'), flatPng(px, BLACK_BACKGROUND));
    // One file per run, so that each image gets the same dequantisation noise (the first image's of seed 0).
    const [alpha, white, black] = ['alpha.png', 'on-white.png', 'on-black.png'].map((file) => {
      const cl = farmer(['classify', file, '--checkpoint', 'run', '--runtime', 'tfjs', '--json']);
      expect(cl.code, cl.stderr).toBe(0);
      return JSON.parse(cl.stdout).images[0] as { bitsPerDim: number; logLikelihood: number[] };
    });
    expect(alpha.bitsPerDim).toBe(white.bitsPerDim);
    expect(alpha.logLikelihood).toEqual(white.logLikelihood);
    expect(Math.abs(alpha.bitsPerDim - black.bitsPerDim)).toBeGreaterThan(1e-3);

    // farmer encode likewise: the same latents as the image pre-composited on white.
    const z = (file: string) => {
      const out = `${file}.safetensors`;
      const en = farmer(['encode', file, '--checkpoint', 'run', '--out', out]);
      expect(en.code, en.stderr).toBe(0);
      return decodeSafetensors(new Uint8Array(readFileSync(join(work, out)))).tensors.z;
    };
    expect(toFloat32(z('alpha.png'))).toEqual(toFloat32(z('on-white.png')));
    expect(toFloat32(z('alpha.png'))).not.toEqual(toFloat32(z('on-black.png')));
  }, 300_000);
  it('farmer classify gives the colour model a grey PNG as its grey replicated into R = G = B, never read as RGB triples (docs/method.md §2.6 Transparency)', () => {
    const grey = Uint8Array.from({ length: 64 }, (_, p) => (p * 53) % 256);
    writeFileSync(join(work, 'grey.png'), encodePng({ data: grey, count: 1, height: 8, width: 8, channels: 1 }));
    writeFileSync(join(work, 'grey-as-rgb.png'), encodePng({ data: Uint8Array.from({ length: 64 * 3 }, (_, i) => grey[Math.floor(i / 3)]), count: 1, height: 8, width: 8, channels: 3 }));
    const [g, rgb] = ['grey.png', 'grey-as-rgb.png'].map((file) => {
      const cl = farmer(['classify', file, '--checkpoint', 'run', '--runtime', 'tfjs', '--json']);
      expect(cl.code, cl.stderr).toBe(0);
      return JSON.parse(cl.stdout).images[0] as { bitsPerDim: number; logLikelihood: number[] };
    });
    expect(g.logLikelihood).toEqual(rgb.logLikelihood);
    expect(g.bitsPerDim).toBe(rgb.bitsPerDim);
  }, 300_000);
});

describe('a grey model given colour PNGs', () => {
  beforeAll(async () => {
    // A fresh 8×8 grey model with seeded random weights, so that its likelihood depends on every pixel.
    await initBackend({ backend: 'wasm' });
    const model = FarmerModel.create(
      {
        flow: { inChannels: 1, imageSize: 8, patchSize: 2, width: 16, numBlocks: 1, layersPerBlock: 1, headDim: 8 },
        ar: { width: 16, layers: 1, headDim: 8, prefixLength: 1, informativeDim: 2, componentsInformative: 2, componentsRedundant: 1 },
        numClasses: 2,
      },
      7,
    );
    randomize(model.flow.params, 1, { scale: 0.1, projOut: 0.05 });
    randomize(model.ar.params, 2, { scale: 0.1, projOut: 0.05 });
    await saveFarmer(join(work, 'grey-model'), model);
    model.dispose();
  });

  it('farmer classify reads a colour PNG as its luma 0.299·R + 0.587·G + 0.114·B (after compositing), not as one of its channels', () => {
    const px = rgba(3);
    writeFileSync(join(work, 'colour.png'), rgbaPng(px));
    writeFileSync(join(work, 'luma.png'), encodePng({ data: compositeRgba(px, 1, BLACK_BACKGROUND), count: 1, height: 8, width: 8, channels: 1 }));
    const red = Uint8Array.from({ length: 64 }, (_, p) => compositeRgba(px, 3, BLACK_BACKGROUND)[p * 3]);
    writeFileSync(join(work, 'red.png'), encodePng({ data: red, count: 1, height: 8, width: 8, channels: 1 }));
    const [colour, luma, r] = ['colour.png', 'luma.png', 'red.png'].map((file) => {
      const cl = farmer(['classify', file, '--checkpoint', 'grey-model', '--runtime', 'tfjs', '--json']);
      expect(cl.code, cl.stderr).toBe(0);
      return JSON.parse(cl.stdout).images[0] as { bitsPerDim: number; logLikelihood: number[] };
    });
    expect(colour.logLikelihood).toEqual(luma.logLikelihood);
    expect(colour.bitsPerDim).toBe(luma.bitsPerDim);
    expect(Math.abs(colour.bitsPerDim - r.bitsPerDim)).toBeGreaterThan(1e-3);
  }, 300_000);
});
