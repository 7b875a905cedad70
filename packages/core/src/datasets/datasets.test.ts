import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isFarmerError } from '../errors.js';
import { decodePng, encodePng } from '../png.js';
import { BatchStream, gatherExamples } from './batch-stream.js';
import { decodeCifarRecords } from './cifar10.js';
import { decodeIdx, FASHION_MNIST_CLASSES } from './idx.js';
import { loadDataset } from './load.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-data-'));

function idxFile(dims: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head.set([0, 0, 8, dims.length]);
  const v = new DataView(head.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

async function rejects(p: Promise<unknown> | (() => unknown), re: RegExp, code?: string) {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(isFarmerError(err), String(err)).toBe(true);
  if (code) expect((err as { code: string }).code).toBe(code);
  expect((err as Error).message).toMatch(re);
}

describe('built-in MNIST', () => {
  it('has the documented fixed split of the 10k digits', async () => {
    const train = await loadDataset('mnist');
    const test = await loadDataset('mnist', { split: 'test' });
    expect(train.images.count + test.images.count).toBe(10_000);
    expect(test.images.count).toBe(997);
    expect([train.images.height, train.images.width, train.images.channels]).toEqual([28, 28, 1]);
    for (let c = 0; c < 10; c++) {
      expect(test.labels.includes(c)).toBe(true);
      expect(train.labels.includes(c)).toBe(true);
    }
    // Real digits: mostly black background with a bright stroke.
    const px = train.images.data.subarray(0, 784);
    expect(Math.max(...px)).toBeGreaterThan(200);
    expect(px.filter((v) => v === 0).length).toBeGreaterThan(400);
  });
});

describe('BatchStream', () => {
  it('gives the same seeded order and resumes exactly from its state', async () => {
    const ds = await loadDataset('mnist', { split: 'test' });
    const a = new BatchStream(ds, { batchSize: 100, seed: 1 });
    const b = new BatchStream(ds, { batchSize: 100, seed: 1 });
    const first = [a.next(), a.next()];
    expect(b.next().indices).toEqual(first[0].indices);
    const state = JSON.parse(JSON.stringify(a.state()));
    const later = [a.next(), a.next(), a.next(), a.next(), a.next(), a.next(), a.next(), a.next(), a.next()];
    const c = new BatchStream(ds, { batchSize: 100, seed: 999 });
    c.setState(state);
    for (const l of later) expect(c.next().indices).toEqual(l.indices);
    // 997 images, batch 100: 9 per epoch; the 10th batch (later[7]) starts epoch 1 with a new order.
    expect(later[6].epoch).toBe(0);
    expect(later[7].epoch).toBe(1);
    expect(new BatchStream(ds, { batchSize: 100, seed: 2 }).next().indices).not.toEqual(first[0].indices);
  });

  it('copies images and labels for its indices', async () => {
    const ds = await loadDataset('mnist', { split: 'test' });
    const batch = new BatchStream(ds, { batchSize: 4, seed: 3 }).next();
    const j = batch.indices[2];
    expect(batch.labels[2]).toBe(ds.labels[j]);
    expect(batch.images.data.subarray(2 * 784, 3 * 784)).toEqual(ds.images.data.subarray(j * 784, (j + 1) * 784));
  });

  it('refuses indices outside the dataset', async () => {
    const ds = await loadDataset('mnist', { split: 'test' });
    await rejects(() => gatherExamples(ds, [0, 997]), /index 997 is outside the 997 images/, 'FARMER_E_BAD_INPUT');
  });

  it('rejects bad batch sizes', async () => {
    const ds = await loadDataset('mnist', { split: 'test' });
    await rejects(() => new BatchStream(ds, { batchSize: 0, seed: 1 }), /positive integer/, 'FARMER_E_BAD_INPUT');
    await rejects(() => new BatchStream(ds, { batchSize: 5000, seed: 1 }), /exceeds the 997 images/);
  });
});

describe('IDX', () => {
  it('reads MNIST-layout files, gzipped or not', async () => {
    const dir = tmp();
    const imgs = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => i);
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxFile([3, 4, 5], imgs)));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxFile([3], Uint8Array.from([2, 0, 1])));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxFile([1, 4, 5], imgs.subarray(0, 20)));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxFile([1], Uint8Array.from([1]))));
    const train = await loadDataset(`idx:${dir}`);
    expect([train.images.count, train.images.height, train.images.width, train.images.channels]).toEqual([3, 4, 5, 1]);
    expect(train.images.data).toEqual(imgs);
    expect(Array.from(train.labels)).toEqual([2, 0, 1]);
    expect(train.numClasses).toBe(3);
    expect((await loadDataset(`idx:${dir}`, { split: 'test' })).images.count).toBe(1);
  });

  it("names Fashion-MNIST's classes for a *fashion* folder of 10 classes (IDX files carry no names), else numbers them", async () => {
    const write = (dir: string, labels: number[]) => {
      mkdirSync(dir, { recursive: true });
      const n = labels.length;
      writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxFile([n, 2, 2], new Uint8Array(n * 4))));
      writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxFile([n], Uint8Array.from(labels))));
    };
    const root = tmp();
    const ten = Array.from({ length: 10 }, (_, i) => i);
    write(join(root, 'fashion-mnist'), ten);
    write(join(root, 'digits'), ten);
    write(join(root, 'my-fashion-subset'), [0, 1, 2]);
    const fashion = await loadDataset(`idx:${join(root, 'fashion-mnist')}`);
    expect(fashion.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect(fashion.classNames[0]).toBe('T-shirt/top');
    expect(fashion.classNames[9]).toBe('Ankle boot');
    expect((await loadDataset(`idx:${join(root, 'digits')}`)).classNames).toEqual(ten.map(String));
    // 3 classes cannot be Fashion-MNIST's 10, whatever the folder is called.
    expect((await loadDataset(`idx:${join(root, 'my-fashion-subset')}`)).classNames).toEqual(['0', '1', '2']);
  });

  it('rejects truncated and foreign files', () => {
    expect(() => decodeIdx(idxFile([3, 4, 5], new Uint8Array(10)), 'f')).toThrow(/truncated/);
    expect(() => decodeIdx(new TextEncoder().encode('hello'), 'f')).toThrow(/not an IDX file/);
    expect(() => decodeIdx(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), 'f')).toThrow(/gzip data is corrupt/);
  });
});

describe('CIFAR-10 binary', () => {
  it('decodes records from planar RGB to HWC', async () => {
    const rec = new Uint8Array(3073);
    rec[0] = 7;
    rec[1 + 5] = 10; // R of pixel 5
    rec[1 + 1024 + 5] = 20; // G of pixel 5
    rec[1 + 2048 + 5] = 30; // B of pixel 5
    const { images, labels } = decodeCifarRecords(rec, 'f');
    expect(labels[0]).toBe(7);
    expect(Array.from(images.subarray(15, 18))).toEqual([10, 20, 30]);
    expect(() => decodeCifarRecords(rec.subarray(0, 100), 'f')).toThrow(/not a multiple/);
    const dir = tmp();
    const batch = new Uint8Array(3073 * 2);
    batch.set(rec);
    batch.set(rec, 3073);
    for (const f of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) writeFileSync(join(dir, f), batch);
    const ds = await loadDataset(`cifar10:${dir}`);
    expect(ds.images.count).toBe(10);
    expect(ds.classNames[7]).toBe('horse');
  });
});

describe('image folders', () => {
  it('loads one class per sub-folder, resized and centre-cropped', async () => {
    const dir = tmp();
    for (const cls of ['cat', 'dog']) {
      mkdirSync(join(dir, cls));
      for (let i = 0; i < 10; i++) {
        // 8×16 images: left half dark, right half bright; a centre crop keeps both.
        const data = new Uint8Array(8 * 16 * 3);
        for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) data.fill(x < 8 ? 10 : 240, (y * 16 + x) * 3, (y * 16 + x) * 3 + 3);
        writeFileSync(join(dir, cls, `${i}.png`), encodePng({ data, count: 1, height: 8, width: 16, channels: 3 }));
      }
    }
    const train = await loadDataset(`folder:${dir}`, { imageSize: 4 });
    const test = await loadDataset(`folder:${dir}`, { split: 'test', imageSize: 4, channels: 1 });
    expect(train.classNames).toEqual(['cat', 'dog']);
    expect(train.images.count).toBe(18);
    expect(test.images.count).toBe(2);
    expect([test.images.height, test.images.width, test.images.channels]).toEqual([4, 4, 1]);
    expect(test.images.data[0]).toBeLessThan(60);
    expect(test.images.data[3]).toBeGreaterThan(200);
  });

  it('gives an image of its size exactly the pixels decodePng gives: alpha composited on the background, grey the luma of docs/method.md §2.6 Transparency, a grey PNG replicated; black by default', async () => {
    // 16×16 RGBA: every alpha 0..255 once, over colours that vary by pixel (saturated ones among them,
    // where the luma 0.299·R + 0.587·G + 0.114·B and a greyscale in linear light differ most).
    const data = new Uint8Array(16 * 16 * 4);
    for (let p = 0; p < 256; p++) data.set([(p * 37) % 256, (p * 91 + 11) % 256, 255 - p, p], p * 4);
    // An opaque row of pure red, green and blue, and a grey PNG (colour type 0).
    for (let x = 0; x < 16; x++) data.set([[255, 0, 0], [0, 255, 0], [0, 0, 255]][x % 3].concat(255), (15 * 16 + x) * 4);
    const png = encodePng({ data, count: 1, height: 16, width: 16, channels: 4 });
    const grey = encodePng({ data: Uint8Array.from({ length: 256 }, (_, p) => (p * 53) % 256), count: 1, height: 16, width: 16, channels: 1 });
    const dir = tmp();
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a', '0.png'), png);
    writeFileSync(join(dir, 'a', '1.png'), grey);
    for (const background of [undefined, [255, 255, 255], [30, 200, 90]] as const) {
      for (const channels of [1, 3] as const) {
        const folder = (await loadDataset(`folder:${dir}`, { imageSize: 16, channels, background })).images;
        const ours = [png, grey].flatMap((bytes) => Array.from(decodePng(bytes, channels, { background }).data));
        expect(Array.from(folder.data), `background ${background}, ${channels} channel(s)`).toEqual(ours);
      }
    }
    // A transparent pixel is the background, not the colour stored under it.
    expect(Array.from((await loadDataset(`folder:${dir}`, { imageSize: 16 })).images.data.subarray(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from((await loadDataset(`folder:${dir}`, { imageSize: 16, background: [30, 200, 90] })).images.data.subarray(0, 3))).toEqual([30, 200, 90]);
    // Pure red, green and blue become their luma for a grey model (76, 150, 29), as decodePng makes them.
    expect(Array.from((await loadDataset(`folder:${dir}`, { imageSize: 16, channels: 1 })).images.data.subarray(15 * 16, 15 * 16 + 3))).toEqual([76, 150, 29]);
  });

  it('records the background it composited on (black by default), which a model trained on it records in turn', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a', '0.png'), encodePng({ data: new Uint8Array(4 * 4 * 4), count: 1, height: 4, width: 4, channels: 4 }));
    expect((await loadDataset(`folder:${dir}`, { imageSize: 4 })).background).toEqual([0, 0, 0]);
    expect((await loadDataset(`folder:${dir}`, { imageSize: 4, background: [30, 200, 90] })).background).toEqual([30, 200, 90]);
    // Data without alpha records none (= black).
    expect((await loadDataset('mnist', { split: 'test' })).background).toBeUndefined();
  });

  it('refuses an image over the pixel limit from its header, before decoding it (PNG, JPEG)', async () => {
    const sharp = (await import('sharp')).default;
    const small = encodePng({ data: new Uint8Array(8 * 8 * 3).fill(90), count: 1, height: 8, width: 8, channels: 3 });
    // A PNG whose IHDR says 20000×20000 over an 8×8 body; a JPEG whose SOF0 says 20000×20000.
    const png = Uint8Array.from(small);
    new DataView(png.buffer).setUint32(16, 20000);
    new DataView(png.buffer).setUint32(20, 20000);
    const jpeg = new Uint8Array(await sharp(Buffer.from(small)).jpeg().toBuffer());
    const sof = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xc0);
    expect(sof).toBeGreaterThan(0);
    new DataView(jpeg.buffer).setUint16(sof + 5, 20000);
    new DataView(jpeg.buffer).setUint16(sof + 7, 20000);
    for (const [name, bytes] of [['big.png', png], ['big.jpg', jpeg]] as const) {
      const dir = tmp();
      mkdirSync(join(dir, 'a'));
      for (let i = 0; i < 3; i++) writeFileSync(join(dir, 'a', `${i}.png`), small);
      writeFileSync(join(dir, 'a', `0-${name}`), bytes);
      await rejects(loadDataset(`folder:${dir}`, { imageSize: 4 }), new RegExp(`0-${name.replace('.', '\\.')} is 20000×20000 pixels, over the limit of 67108864 pixels`), 'FARMER_E_BAD_INPUT');
    }
  });

  it('refuses an empty test split (every class under 10 images) instead of loading 0 images', async () => {
    const dir = tmp();
    for (const [cls, n] of [['a', 9], ['b', 3]] as const) {
      mkdirSync(join(dir, cls));
      for (let i = 0; i < n; i++) writeFileSync(join(dir, cls, `${i}.png`), encodePng({ data: new Uint8Array(4 * 4 * 3).fill(i * 20), count: 1, height: 4, width: 4, channels: 3 }));
    }
    expect((await loadDataset(`folder:${dir}`, { imageSize: 4 })).images.count).toBe(12);
    await rejects(
      loadDataset(`folder:${dir}`, { split: 'test', imageSize: 4 }),
      new RegExp(`folder:${dir} has no test images: .*every 10th image of a class is a test image, and no class here has 10 \\(the largest has 9\\); add images until a class has at least 10, or split them yourself into ${dir}/train and ${dir}/test`),
      'FARMER_E_BAD_INPUT',
    );
  });

  it('reports bad paths and specs clearly', async () => {
    await rejects(loadDataset('folder:/no/such/dir'), /does not exist/, 'FARMER_E_NOT_FOUND');
    await rejects(loadDataset('idx:/no/such/dir'), /does not exist/, 'FARMER_E_NOT_FOUND');
    await rejects(loadDataset('cifar10:/no/such/dir'), /does not exist/, 'FARMER_E_NOT_FOUND');
    await rejects(loadDataset('imagenet'), /unknown dataset 'imagenet'; use mnist \(built-in\), emoji \(npm packages emoji-datasource-google and -twitter\), idx:DIR/, 'FARMER_E_BAD_INPUT');
    const empty = tmp();
    await rejects(loadDataset(`folder:${empty}`), /no class sub-folders/);
    await rejects(loadDataset(`idx:${empty}`), /has no train-images-idx3-ubyte/);
  });
});
