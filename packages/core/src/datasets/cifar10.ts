import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FarmerError } from '../errors.js';
import { makeDataset, type DatasetSplit, type ImageDataset } from './dataset.js';

const RECORD = 1 + 3 * 32 * 32;
const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/**
 * Decodes CIFAR-10 binary records: 1 label byte, then 1024 R, 1024 G and
 * 1024 B bytes (row-major planes). Output is HWC.
 */
export function decodeCifarRecords(bytes: Uint8Array, file: string): { images: Uint8Array; labels: Int32Array } {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new FarmerError('FARMER_E_CORRUPT', `${file} is ${bytes.length} bytes, not a multiple of the ${RECORD}-byte CIFAR-10 record (truncated or wrong format)`, { file });
  }
  const n = bytes.length / RECORD;
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * RECORD;
    labels[r] = bytes[base];
    if (labels[r] > 9) throw new FarmerError('FARMER_E_CORRUPT', `${file}: record ${r} has label ${labels[r]} > 9`, { file });
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) images[r * 3072 + p * 3 + c] = bytes[base + 1 + c * 1024 + p];
    }
  }
  return { images, labels };
}

/** CIFAR-10 binary version: data_batch_1..5.bin (train), test_batch.bin (test), in `dir` or `dir/cifar-10-batches-bin`. */
export function loadCifar10Dataset(dir: string, split: DatasetSplit): ImageDataset {
  const base = existsSync(join(dir, 'cifar-10-batches-bin')) ? join(dir, 'cifar-10-batches-bin') : dir;
  if (!existsSync(base)) throw new FarmerError('FARMER_E_NOT_FOUND', `CIFAR-10 directory ${dir} does not exist`, { file: dir });
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const parts = names.map((name) => {
    const file = join(base, name);
    if (!existsSync(file)) throw new FarmerError('FARMER_E_NOT_FOUND', `${file} is missing; cifar10: expects the binary version (cifar-10-binary.tar.gz, extracted)`, { file });
    return decodeCifarRecords(new Uint8Array(readFileSync(file)), file);
  });
  const count = parts.reduce((a, p) => a + p.labels.length, 0);
  const images = new Uint8Array(count * 3072);
  const labels = new Int32Array(count);
  let off = 0;
  for (const p of parts) {
    images.set(p.images, off * 3072);
    labels.set(p.labels, off);
    off += p.labels.length;
  }
  return makeDataset({
    name: `cifar10:${dir}`,
    split,
    images: { data: images, count, height: 32, width: 32, channels: 3 },
    labels,
    numClasses: 10,
    classNames: CIFAR10_CLASSES,
  });
}
