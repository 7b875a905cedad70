import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, type U8Images } from '@farmer/core';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeReferenceStats, loadReferenceStats, saveReferenceStats } from '../src/index.js';
import { bilinearTaps, OnnxFeatureExtractor, preprocessImages } from '../src/onnx/index.js';

const { onnx } = onnxProto;

/**
 * A feature "network" built in the test: Flatten(x) · W, input `[batch, ...]`
 * float32, output `[N, f]`. `inputShape` entries may be symbolic (strings).
 */
function linearModel(inputShape: (number | string)[], w: Float32Array, f: number, names = { input: 'images', output: 'features' }): Uint8Array {
  const k = w.length / f;
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'farmer-eval-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'linear-features',
      input: [{ name: names.input, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: inputShape.map(dim) } } } }],
      output: [{ name: names.output, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [dim('N'), dim(f)] } } } }],
      initializer: [{ name: 'W', dims: [k, f], dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(w) }],
      node: [
        { opType: 'Flatten', input: [names.input], output: ['flat'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
        { opType: 'MatMul', input: ['flat', 'W'], output: [names.output] },
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function grayImages(count: number, size: number, seed: string): U8Images {
  const rng = new Rng(seed);
  const data = new Uint8Array(count * size * size);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { data, count, height: size, width: size, channels: 1 };
}

const F = 5;
const K = 16; // 1 × 4 × 4 inputs
const W1 = new Rng('w1').normal(K * F);
const W3 = new Rng('w3').normal(3 * K * F);
let dir: string;

async function writeExtractor(name: string, model: Uint8Array, sidecar: unknown): Promise<string> {
  const path = join(dir, `${name}.onnx`);
  await fs.writeFile(path, model);
  await fs.writeFile(join(dir, `${name}.json`), JSON.stringify(sidecar));
  return path;
}

/** x · W in float64, x `[n, k]`, W `[k, f]`. */
function project(x: number[][], w: Float32Array, f: number): number[][] {
  return x.map((row) => Array.from({ length: f }, (_, j) => row.reduce((s, v, t) => s + v * w[t * f + j], 0)));
}

function expectFeatures(got: { data: Float32Array | Float64Array; count: number; dim: number }, want: number[][]): void {
  expect(got.count).toBe(want.length);
  expect(got.dim).toBe(want[0].length);
  want.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(got.data[i * got.dim + j] - v)).toBeLessThan(1e-5 * (1 + Math.abs(v)))));
}

const gray1 = { input: 'images', output: 'features', inputSize: [4, 4], layout: 'NCHW', channels: 1 };

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'farmer-eval-onnx-'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('bilinear resize', () => {
  it('matches PyTorch F.interpolate(align_corners=False) on 2×2 → 4×4', () => {
    const im: U8Images = { data: new Uint8Array([1, 2, 3, 4]), count: 1, height: 2, width: 2, channels: 1 };
    const got = preprocessImages(im, { inputSize: [4, 4], layout: 'NCHW', channels: 1, range: [0, 255] });
    // torch.nn.functional.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4), mode='bilinear', align_corners=False)
    const torch = [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
    expect(Array.from(got)).toEqual(torch);
    // Equal sizes: the identity.
    expect(Array.from(bilinearTaps(3, 3).w)).toEqual([0, 0, 0]);
  });
});

describe('OnnxFeatureExtractor', () => {
  it('runs a model built in the test in batches and matches the computation by hand (NCHW, normalised)', async () => {
    const path = await writeExtractor('nchw', linearModel(['N', 1, 4, 4], W1, F), { ...gray1, mean: [0.5], std: [0.25], batchSize: 3 });
    const ex = await OnnxFeatureExtractor.load(path);
    try {
      const images = grayImages(7, 4, 'nchw');
      const progress: number[] = [];
      const got = await ex.extract(images, { onProgress: (done) => progress.push(done) });
      expect(progress).toEqual([3, 6, 7]);
      const x = Array.from({ length: 7 }, (_, i) => Array.from(images.data.subarray(i * K, (i + 1) * K), (v) => (v / 255 - 0.5) / 0.25));
      expectFeatures(got, project(x, W1, F));
      expect(ex.identity.id).toBe('nchw.onnx');
      expect(ex.identity.hash).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await ex.dispose();
    }
  });

  it('resizes, replicates gray to RGB and writes NHWC', async () => {
    const path = await writeExtractor('nhwc', linearModel(['N', 4, 4, 3], W3, F), { ...gray1, layout: 'NHWC', channels: 3, range: [-1, 1], id: 'rgb-test' });
    const ex = await OnnxFeatureExtractor.load(path);
    try {
      const images = grayImages(4, 8, 'nhwc');
      const got = await ex.extract(images);
      // 8 → 4 with half-pixel centres samples at 2d + 0.5: the mean of each 2×2 block.
      const x = Array.from({ length: 4 }, (_, i) => {
        const px = (r: number, c: number) => images.data[i * 64 + r * 8 + c];
        const row: number[] = [];
        for (let y = 0; y < 4; y++) {
          for (let xx = 0; xx < 4; xx++) {
            const m = (px(2 * y, 2 * xx) + px(2 * y, 2 * xx + 1) + px(2 * y + 1, 2 * xx) + px(2 * y + 1, 2 * xx + 1)) / 4;
            const v = (m / 255) * 2 - 1;
            row.push(v, v, v);
          }
        }
        return row;
      });
      expectFeatures(got, project(x, W3, F));
      expect(ex.identity.id).toBe('rgb-test');
    } finally {
      await ex.dispose();
    }
  });

  it('pads the last batch of a fixed-batch model', async () => {
    const dynamic = await OnnxFeatureExtractor.load(await writeExtractor('dyn', linearModel(['N', 1, 4, 4], W1, F), gray1));
    const fixed = await OnnxFeatureExtractor.load(await writeExtractor('fixed', linearModel([2, 1, 4, 4], W1, F), { ...gray1, batchSize: 64 }));
    try {
      expect(fixed.fixedBatch).toBe(true);
      expect(fixed.batchSize).toBe(2);
      const images = grayImages(5, 4, 'fixed');
      const a = await dynamic.extract(images);
      const b = await fixed.extract(images);
      expect(b.count).toBe(5);
      for (let i = 0; i < a.data.length; i++) expect(Math.abs(a.data[i] - b.data[i])).toBeLessThan(1e-5);
    } finally {
      await dynamic.dispose();
      await fixed.dispose();
    }
  });

  it('hashes the model and preprocessing into its identity, not the batch size', async () => {
    const model = linearModel(['N', 1, 4, 4], W1, F);
    const id = async (name: string, sidecar: object) => {
      const ex = await OnnxFeatureExtractor.load(await writeExtractor(name, model, sidecar));
      await ex.dispose();
      return ex.identity.hash;
    };
    const base = await id('h0', gray1);
    expect(await id('h1', { ...gray1, batchSize: 7 })).toBe(base);
    expect(await id('h2', { ...gray1, range: [0, 255] })).not.toBe(base);
    const other = await OnnxFeatureExtractor.load(await writeExtractor('h3', linearModel(['N', 1, 4, 4], W3.subarray(0, K * F), F), gray1));
    await other.dispose();
    expect(other.identity.hash).not.toBe(base);
  });

  it('gives clear errors for a malformed model, a bad or missing sidecar and mismatched names or shapes', async () => {
    const good = linearModel(['N', 1, 4, 4], W1, F);
    const junk = await writeExtractor('junk', new TextEncoder().encode('this is not an onnx model'), gray1);
    await expect(OnnxFeatureExtractor.load(junk)).rejects.toMatchObject({ code: 'FARMER_E_CORRUPT', message: expect.stringMatching(/could not load .*junk\.onnx/) });

    const noSidecar = join(dir, 'lonely.onnx');
    await fs.writeFile(noSidecar, good);
    await expect(OnnxFeatureExtractor.load(noSidecar)).rejects.toMatchObject({ code: 'FARMER_E_NOT_FOUND', message: expect.stringContaining('lonely.json') });
    await expect(OnnxFeatureExtractor.load(join(dir, 'absent.onnx'))).rejects.toMatchObject({ code: 'FARMER_E_NOT_FOUND' });

    const badJson = join(dir, 'badjson.onnx');
    await fs.writeFile(badJson, good);
    await fs.writeFile(join(dir, 'badjson.json'), '{ "input": ');
    await expect(OnnxFeatureExtractor.load(badJson)).rejects.toMatchObject({ code: 'FARMER_E_BAD_CONFIG', message: expect.stringContaining('not valid JSON') });

    const invalid = await writeExtractor('invalid', good, { ...gray1, channels: 2, output: undefined, colour: 'yes' });
    await expect(OnnxFeatureExtractor.load(invalid)).rejects.toMatchObject({
      code: 'FARMER_E_BAD_CONFIG',
      message: expect.stringMatching(/output.*channels|channels.*output/s),
    });
    const meanLength = await writeExtractor('mean', good, { ...gray1, mean: [0.1, 0.2, 0.3] });
    await expect(OnnxFeatureExtractor.load(meanLength)).rejects.toThrow(/mean: needs 1 values/);

    const wrongInput = await writeExtractor('wrong-in', good, { ...gray1, input: 'pixels' });
    await expect(OnnxFeatureExtractor.load(wrongInput)).rejects.toMatchObject({ code: 'FARMER_E_BAD_CONFIG', message: expect.stringContaining("inputs are 'images'") });
    const wrongOutput = await writeExtractor('wrong-out', good, { ...gray1, output: 'pool3' });
    await expect(OnnxFeatureExtractor.load(wrongOutput)).rejects.toMatchObject({ code: 'FARMER_E_BAD_CONFIG', message: expect.stringContaining("outputs are 'features'") });
    const wrongSize = await writeExtractor('wrong-size', good, { ...gray1, inputSize: [5, 5] });
    await expect(OnnxFeatureExtractor.load(wrongSize)).rejects.toMatchObject({ code: 'FARMER_E_BAD_CONFIG', message: expect.stringContaining('has shape [N, 1, 4, 4], but sidecar') });

    // Symbolic spatial dims pass the load-time check; the mismatch surfaces when onnxruntime runs.
    const symbolic = await OnnxFeatureExtractor.load(await writeExtractor('symbolic', linearModel(['N', 1, 'H', 'W'], W1, F), { ...gray1, inputSize: [5, 5] }));
    await expect(symbolic.extract(grayImages(2, 5, 's'))).rejects.toMatchObject({
      code: 'FARMER_E_BAD_CONFIG',
      message: expect.stringMatching(/onnxruntime failed on images \[0, 2\) with input 'images' of shape \[2, 1, 5, 5\]: .*Check inputSize/),
    });
    await symbolic.dispose();

    const ex = await OnnxFeatureExtractor.load(await writeExtractor('ok', good, gray1));
    const rgb: U8Images = { data: new Uint8Array(2 * 16 * 3), count: 2, height: 4, width: 4, channels: 3 };
    await expect(ex.extract(rgb)).rejects.toMatchObject({ code: 'FARMER_E_SHAPE', message: expect.stringContaining('grayscale') });
    await ex.dispose();
    await expect(ex.extract(grayImages(1, 4, 'x'))).rejects.toThrow(/disposed/);
  });

  it('computes reference statistics with its identity, and a changed sidecar makes them stale', async () => {
    const path = await writeExtractor('ref', linearModel(['N', 1, 4, 4], W1, F), { ...gray1, batchSize: 4 });
    const ex = await OnnxFeatureExtractor.load(path);
    const images = grayImages(40, 4, 'ref');
    const ref = await computeReferenceStats(ex, images, { imagesPerCall: 16, source: 'test:gray-4x4' });
    const direct = await ex.extract(images);
    await ex.dispose();
    expect(ref.count).toBe(40);
    expect(ref.dim).toBe(F);
    let m0 = 0;
    for (let i = 0; i < 40; i++) m0 += direct.data[i * F] / 40;
    expect(Math.abs(ref.mean[0] - m0)).toBeLessThan(1e-5);
    const file = join(dir, 'ref-stats.safetensors');
    await saveReferenceStats(file, ref);
    const again = await OnnxFeatureExtractor.load(path);
    await again.dispose();
    expect((await loadReferenceStats(file, { extractor: again.identity })).source).toBe('test:gray-4x4');

    await fs.writeFile(join(dir, 'ref.json'), JSON.stringify({ ...gray1, std: [0.5] }));
    const changed = await OnnxFeatureExtractor.load(path);
    await changed.dispose();
    await expect(loadReferenceStats(file, { extractor: changed.identity })).rejects.toMatchObject({
      code: 'FARMER_E_BAD_INPUT',
      message: expect.stringContaining('stale reference statistics'),
    });
  });
});
