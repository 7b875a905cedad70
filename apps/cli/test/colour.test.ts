import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify, type FarmerRunner } from '@farmer/ar-gmm';
import { decodePng, initBackend, noisyImages, Rng, sliceImages, WHITE_BACKGROUND, type U8Images } from '@farmer/core';
import { openModel } from '@farmer/runtime';
import { compareRuntimeImages, generate } from '@farmer/sampling';
import { COLOUR_SHAPE_CLASSES, findScaledImage, scaledImageAt, writeColourShapes } from '@farmer/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';

// A colour image from data to PNG through every path of the CLI: a tiny 16×16 RGB model trained
// (on the onnxruntime engine) on a folder of RGBA shapes composited on white, then sampled into grids
// and separate PNGs, scored by `farmer eval bpd` and `farmer classify`, exported to ONNX and sampled
// on onnxruntime against tfjs. (Grey/colour conversions of classify: background.test.ts.)
const BIN = join(__dirname, '..', 'dist', 'bin.js');
const SIZE = 16;
/** Values of one image: 3·H·W, the dimensions bits/dim divides by. */
const DIMS = 3 * SIZE * SIZE;
let work: string;
let testFiles: string[][];

function farmer(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, env: { ...process.env, FARMER_BACKEND: 'wasm', FARMER_CACHE: join(work, 'cache') }, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs farmer with --json and returns its parsed result; the exit code must be 0. */
function farmerJson(args: string[]) {
  const r = farmer([...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** The IHDR of a PNG file: size, bit depth and colour type (0 grey, 2 RGB, 4 grey+alpha, 6 RGBA). */
function pngHeader(file: string): { width: number; height: number; bitDepth: number; colourType: number } {
  const b = readFileSync(file);
  expect(b.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), bitDepth: b[24], colourType: b[25] };
}

/** An RGB PNG file's pixels (the file must be RGB, so nothing is converted). */
function rgbPng(file: string): U8Images {
  expect(pngHeader(file)).toMatchObject({ bitDepth: 8, colourType: 2 });
  return decodePng(new Uint8Array(readFileSync(file)), 3);
}

/** Whether some pixel of the images has channels that differ (a colour image, not grey in RGB). */
const hasColour = (im: U8Images) => Array.from({ length: im.data.length / 3 }, (_, p) => p).some((p) => im.data[3 * p] !== im.data[3 * p + 1] || im.data[3 * p + 1] !== im.data[3 * p + 2]);

const run = () => join(work, 'run');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'farmer-cli-colour-'));
  testFiles = writeColourShapes(join(work, 'shapes'), { size: SIZE, train: 12, test: 4 }).test;
  const model = {
    flow: { inChannels: 3, imageSize: SIZE, patchSize: 4, width: 32, numBlocks: 2, layersPerBlock: 1, headDim: 16 },
    ar: { width: 32, layers: 1, headDim: 16, prefixLength: 2, informativeDim: 8, componentsInformative: 4, componentsRedundant: 2 },
    numClasses: 3,
  };
  writeFileSync(join(work, 'rgb-tiny.json'), JSON.stringify({ model }));
  await initBackend({ backend: 'wasm' });
});

describe('a colour model, from a folder of RGBA PNGs to PNG', () => {
  it('trains on colour data (onnxruntime engine): exit 0, a checkpoint of 3 input channels that records the white background and the class names', () => {
    const tr = farmerJson(['train', '--config', 'rgb-tiny.json', '--data', 'folder:shapes', '--image-size', `${SIZE}`, '--background', 'white', '--steps', '30', '--batch-size', '12', '--engine', 'ort', '--workers', '1', '--threads', '1', '--out', 'run']);
    expect([tr.steps, tr.engine]).toEqual([30, 'ort']);
    const config = JSON.parse(readFileSync(join(run(), 'checkpoint', 'config.json'), 'utf8'));
    expect(config.model.flow).toMatchObject({ inChannels: 3, imageSize: SIZE });
    expect(config.model.background).toEqual([255, 255, 255]);
    expect(config.model.classNames).toEqual([...COLOUR_SHAPE_CLASSES]);
    expect(config.meta.data).toBe('folder:shapes');
    // Its final test bits/dim (over 3·16·16 values: the eval bpd test below checks the count) is a finite, positive figure.
    expect(Number.isFinite(tr.lastEval.bpd) && tr.lastEval.bpd > 0, `${tr.lastEval.bpd}`).toBe(true);
  }, 120_000);

  it('farmer sample writes RGB PNGs (colour type 2) of the right size holding exactly the pixels the runner drew: the grid, --separate, and the labelled --per-class grid', async () => {
    const s = farmerJson(['sample', '--checkpoint', 'run', '--runtime', 'tfjs', '--labels', '0,1,2,0,1,2', '--seed', '3', '--separate', 'sep', '--out', 'grid.png']);
    const m = await openModel(run(), { runtime: 'tfjs' });
    try {
      const want = await generate(m.runner, { count: 6, labels: s.labels, seed: 3 });
      expect(want.images.channels).toBe(3);
      expect(hasColour(want.images)).toBe(true);
      // One PNG per image, 16×16 RGB, its bytes the runner's.
      expect(readdirSync(join(work, 'sep')).sort()).toEqual(['0000-label0.png', '0001-label1.png', '0002-label2.png', '0003-label0.png', '0004-label1.png', '0005-label2.png']);
      s.files.forEach((file: string, i: number) => {
        expect(pngHeader(file)).toEqual({ width: SIZE, height: SIZE, bitDepth: 8, colourType: 2 });
        expect(Array.from(rgbPng(file).data), file).toEqual(Array.from(sliceImages(want.images, i, 1).data));
      });
      // The grid: 3 columns × 2 rows of 16×16 tiles, 2 pixels apart.
      expect(pngHeader(s.grid)).toEqual({ width: 3 * SIZE + 4 * 2, height: 2 * SIZE + 3 * 2, bitDepth: 8, colourType: 2 });
      const grid = rgbPng(s.grid);
      for (let i = 0; i < 6; i++) expect(scaledImageAt(grid, sliceImages(want.images, i, 1), 2 + (i % 3) * (SIZE + 2), 2 + Math.floor(i / 3) * (SIZE + 2)), `grid tile ${i}`).toBe(true);

      // --per-class: a labelled figure, one row per class named by the model, each image in it at 2×.
      const pc = farmerJson(['sample', '--checkpoint', 'run', '--runtime', 'tfjs', '--per-class', '2', '--seed', '4', '--out', 'classes.png']);
      expect(pc.labels).toEqual([0, 0, 1, 1, 2, 2]);
      const rows = await generate(m.runner, { count: 6, labels: pc.labels, seed: 4 });
      const figure = rgbPng(pc.grid);
      const at = Array.from({ length: 6 }, (_, i) => findScaledImage(figure, sliceImages(rows.images, i, 1), 2));
      expect(at.every(Boolean), `images found in the figure: ${JSON.stringify(at)}`).toBe(true);
      // Two per row, rows in class order.
      for (let c = 0; c < 3; c++) {
        expect(at[2 * c]!.y).toBe(at[2 * c + 1]!.y);
        expect(at[2 * c + 1]!.x).toBeGreaterThan(at[2 * c]!.x);
        if (c > 0) expect(at[2 * c]!.y).toBeGreaterThan(at[2 * c - 2]!.y);
      }
    } finally {
      await m.close();
    }
  }, 120_000);

  it('farmer eval bpd reports bits/dim over 3·H·W dimensions: the library\'s NLL of the same images / (3·16·16·ln 2), plus log2(128) for the dequantisation bins', async () => {
    const r = farmerJson(['eval', 'bpd', '--checkpoint', 'run', '--data', 'folder:shapes', '--runtime', 'tfjs']);
    expect(r.images).toBe(12);
    // The same images, decoded here from the PNG files on the model's background, in the loader's order.
    const files = testFiles.flat();
    const images: U8Images = { data: new Uint8Array(files.length * DIMS), count: files.length, height: SIZE, width: SIZE, channels: 3 };
    files.forEach((f, i) => images.data.set(decodePng(new Uint8Array(readFileSync(f)), 3, { background: WHITE_BACKGROUND }).data, i * DIMS));
    const labels = Int32Array.from(testFiles.flatMap((fs, c) => fs.map(() => c)));
    const m = await openModel(run(), { runtime: 'tfjs', likelihood: true });
    try {
      // evaluateBpd's noise: one uniform draw per value from Rng('eval:<seed>') (docs/method.md §5.2 Bits per dim).
      const { values } = noisyImages(images, { mode: 'uniform' }, new Rng('eval:0'));
      const h = await m.likelihood.nll(values, images.count, labels);
      const bpd = Array.from({ length: images.count }, (_, i) => -(h.logpInformative[i] + h.logpRedundant[i] + h.logdet[i]) / (DIMS * Math.LN2) + Math.log2(128));
      const mean = bpd.reduce((a, b) => a + b, 0) / bpd.length;
      expect(Math.abs(r.bpd - mean), `CLI ${r.bpd}, library ${mean}`).toBeLessThan(1e-6);
    } finally {
      await m.close();
    }
  }, 120_000);

  it('farmer classify scores colour PNGs on the colour model as the library does the pixels composited on white', async () => {
    const files = testFiles.map((fs) => fs[0]);
    const r = farmerJson(['classify', ...files, '--checkpoint', 'run', '--runtime', 'tfjs']);
    const images: U8Images = { data: new Uint8Array(files.length * DIMS), count: files.length, height: SIZE, width: SIZE, channels: 3 };
    files.forEach((f, i) => images.data.set(decodePng(new Uint8Array(readFileSync(f)), 3, { background: WHITE_BACKGROUND }).data, i * DIMS));
    const m = await openModel(run(), { runtime: 'tfjs', likelihood: true });
    try {
      // classify's noise: one draw per value from Rng('classify:<seed>'), image after image (docs/method.md §5.4 Bayes classification).
      const want = await classify(m.likelihood, images, { rng: new Rng('classify:0') });
      expect(r.images.map((x: { logLikelihood: number[] }) => x.logLikelihood)).toEqual(files.map((_, i) => Array.from(want.logLik.subarray(i * 3, (i + 1) * 3))));
      expect(r.images.map((x: { bitsPerDim: number }) => x.bitsPerDim)).toEqual(Array.from(want.bitsPerDim));
      expect(r.images.map((x: { predicted: number }) => x.predicted)).toEqual(Array.from(want.predicted));
    } finally {
      await m.close();
    }
  }, 120_000);

  it('a conv feature classifier trains on the colour data (farmer eval train-classifier --conv), and eval fid and eval agreement take it', () => {
    // The stages' bounds are the library's schema's: a zero-channel stage is refused before any work, naming the flag.
    const bad = farmer(['eval', 'train-classifier', '--data', 'folder:shapes', '--conv', '4,0', '--out', 'clf']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/--conv entry 2 \(0\): .*got '4,0'/)]);
    const t = farmerJson(['eval', 'train-classifier', '--data', 'folder:shapes', '--image-size', `${SIZE}`, '--conv', '4,8', '--hidden', '16', '--epochs', '2', '--batch-size', '12', '--out', 'clf']);
    expect(t.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(t.testAccuracy).toBeLessThanOrEqual(1);
    const config = JSON.parse(readFileSync(join(work, 'clf', 'config.json'), 'utf8'));
    expect(config.model).toMatchObject({ channels: 3, height: SIZE, width: SIZE, conv: [4, 8], hidden: [16], numClasses: 3, data: 'folder:shapes' });
    const f = farmerJson(['eval', 'fid', '--checkpoint', 'run', '--runtime', 'tfjs', '--classifier', 'clf', '--count', '6']);
    expect(f.extractor.id).toBe('farmer-conv-classifier/folder:shapes/penultimate');
    expect(Number.isFinite(f.fid) && f.fid >= 0, `${f.fid}`).toBe(true);
    const a = farmerJson(['eval', 'agreement', '--checkpoint', 'run', '--runtime', 'tfjs', '--classifier', 'clf', '--per-class', '2']);
    expect(a.samples).toBe(6);
    expect(a.perClass).toHaveLength(3);
    expect(a.agreement).toBeGreaterThanOrEqual(0);
    // Beside it, the classifier on its own test split (docs/method.md §10.3 Classifier agreement): the accuracy train-classifier reported.
    const ref = a.reference;
    expect(ref.accuracy).toBeCloseTo(t.testAccuracy, 12);
    expect(ref.counts.reduce((s: number, n: number) => s + n, 0)).toBe(ref.images);
    const rated = ref.perClass.filter((x: number | null) => x !== null);
    expect(ref.balancedAccuracy).toBeCloseTo(rated.reduce((s: number, x: number) => s + x, 0) / rated.length, 12);
    const weighted = a.perClass.reduce((s: number, x: number, c: number) => s + x * ref.counts[c], 0) / ref.images;
    expect(ref.agreementAtRealShares).toBeCloseTo(weighted, 12);
  }, 120_000);
});

describe('the colour model on onnxruntime', () => {
  beforeAll(() => {
    const ex = farmer(['export', 'onnx', '--checkpoint', 'run']);
    expect(ex.code, ex.stderr).toBe(0);
  }, 120_000);

  it('bits/dim on onnxruntime equal tfjs\'s, and farmer sample --runtime onnx writes RGB PNGs that agree with tfjs under the runtime-agreement rule', () => {
    const [onnx, tfjs] = ['onnx', 'tfjs'].map((runtime) => farmerJson(['eval', 'bpd', '--checkpoint', 'run', '--data', 'folder:shapes', '--runtime', runtime]));
    expect(onnx.runtime).toBe('onnxruntime');
    expect(Math.abs(onnx.bpd - tfjs.bpd), `onnx ${onnx.bpd}, tfjs ${tfjs.bpd}`).toBeLessThan(1e-4);
    const images = (runtime: string) => {
      const s = farmerJson(['sample', '--checkpoint', 'run', '--runtime', runtime, '--labels', '0,1,2,2,1,0', '--seed', '5', '--separate', `sep-${runtime}`, '--out', `grid-${runtime}.png`]);
      const im = s.files.map((f: string) => rgbPng(f));
      return { data: Uint8Array.from(im.flatMap((x: U8Images) => Array.from(x.data))), count: im.length, height: SIZE, width: SIZE, channels: 3 };
    };
    const r = compareRuntimeImages(images('onnx'), images('tfjs'));
    expect(r.holds, r.summary).toBe(true);
  }, 120_000);

  it('draws CFG images on onnxruntime that agree with tfjs under the runtime-agreement rule; the AF inverse of the same latents agrees within half a grey level', async () => {
    const ort = await openModel(run(), { runtime: 'onnx' });
    const tf = await openModel(run(), { runtime: 'tfjs' });
    try {
      expect(ort.runtime).toBe('onnxruntime');
      // The latents the onnxruntime runner decodes, batch by batch (a redrawn image's batch is decoded again; the last call counts).
      const latents: Float32Array[] = [];
      const spy = new Proxy(ort.runner, {
        get(target, key) {
          const v = Reflect.get(target, key, target);
          if (key !== 'decode') return typeof v === 'function' ? v.bind(target) : v;
          return async (z: Float32Array, b: number, o: Parameters<FarmerRunner['decode']>[2]) => {
            const copy = Float32Array.from(z);
            const out = await target.decode(z, b, o);
            latents.push(copy);
            return out;
          };
        },
      });
      const labels = Array.from({ length: 60 }, (_, i) => i % 3);
      const opts = { count: labels.length, labels, seed: 0, sampler: 'resampling-cfg', batchSize: 20 } as const;
      const a = await generate(spy, opts);
      const b = await generate(tf.runner, opts);
      expect(a.images.channels).toBe(3);
      // docs/method.md §7.10 Runtime agreement: at most ⌈2%⌉ diverged images, the rest within 1 level on ≤ 0.1% of their values.
      const r = compareRuntimeImages(a.images, b.images);
      console.log(`colour model, 60 CFG samples, onnxruntime vs tfjs: ${r.summary}`);
      expect(r.holds, r.summary).toBe(true);
      let worst = 0;
      for (const z of latents) {
        const n = z.length / DIMS;
        const [x, y] = [await ort.runner.decode(z.slice(), n, { decoder: 'flow' }), await tf.runner.decode(z.slice(), n, { decoder: 'flow' })];
        for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
      }
      console.log(`colour model: the same latents decoded on both runtimes differ by at most ${worst.toExponential(2)} (data scale [-1, 1])`);
      // Half a grey level: 1 level is 2/255 on the data scale.
      expect(worst).toBeLessThan(1 / 255);
    } finally {
      await ort.close();
      await tf.close();
    }
  }, 120_000);
});

