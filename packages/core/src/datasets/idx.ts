import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FarmerError } from '../errors.js';
import { makeDataset, type DatasetSplit, type ImageDataset } from './dataset.js';

/** A decoded IDX array (u8 only, the type image sets use). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * IDX format: magic 0x00 0x00 <type> <ndims>, then ndims big-endian u32
 * sizes, then the data. Gzipped files (magic 1f 8b) are inflated first.
 */
export function decodeIdx(raw: Uint8Array, file: string): IdxArray {
  let bytes = raw;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = new Uint8Array(gunzipSync(bytes));
    } catch (e) {
      throw new FarmerError('FARMER_E_CORRUPT', `${file}: gzip data is corrupt (${(e as Error).message})`, { file });
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new FarmerError('FARMER_E_CORRUPT', `${file} is not an IDX file (bad magic number)`, { file });
  if (bytes[2] !== 0x08) throw new FarmerError('FARMER_E_CORRUPT', `${file}: IDX type 0x${bytes[2].toString(16)} is not unsigned byte (0x08)`, { file });
  const nd = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * nd) throw new FarmerError('FARMER_E_CORRUPT', `${file}: truncated IDX header`, { file });
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd;
  if (bytes.length - start !== size) {
    throw new FarmerError('FARMER_E_CORRUPT', `${file}: header promises ${size} bytes of data (${dims.join('×')}) but ${bytes.length - start} follow (truncated?)`, { file });
  }
  return { dims, data: bytes.slice(start) };
}

/** Fashion-MNIST's classes, in label order (Xiao et al. 2017, the dataset's README). */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/**
 * Class names of an IDX directory: Fashion-MNIST's when the directory is
 * named after it (Debian's /usr/share/datasets/fashion-mnist, or any
 * `*fashion*` folder) and holds 10 classes, since IDX files carry no names;
 * else the label numbers. `farmer train --class-names` overrides them.
 */
export function idxClassNames(dir: string, numClasses: number): string[] {
  if (numClasses === FASHION_MNIST_CLASSES.length && /fashion/i.test(basename(resolve(dir)))) return [...FASHION_MNIST_CLASSES];
  return Array.from({ length: numClasses }, (_, i) => String(i));
}

function findFile(dir: string, stems: string[]): string {
  for (const stem of stems) {
    for (const name of [stem, `${stem}.gz`]) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  throw new FarmerError('FARMER_E_NOT_FOUND', `${dir} has no ${stems[0]}[.gz]; an idx: directory needs train-/t10k- images-idx3-ubyte and labels-idx1-ubyte files (MNIST layout)`, { file: dir });
}

/**
 * MNIST-layout IDX files in `dir` (Fashion-MNIST from Debian's
 * dataset-fashion-mnist lives in /usr/share/datasets/fashion-mnist).
 */
export function loadIdxDataset(dir: string, split: DatasetSplit): ImageDataset {
  if (!existsSync(dir)) throw new FarmerError('FARMER_E_NOT_FOUND', `IDX directory ${dir} does not exist`, { file: dir });
  const prefix = split === 'train' ? 'train' : 't10k';
  const imgFile = findFile(dir, [`${prefix}-images-idx3-ubyte`, `${prefix}-images.idx3-ubyte`]);
  const lblFile = findFile(dir, [`${prefix}-labels-idx1-ubyte`, `${prefix}-labels.idx1-ubyte`]);
  const img = decodeIdx(new Uint8Array(readFileSync(imgFile)), imgFile);
  const lbl = decodeIdx(new Uint8Array(readFileSync(lblFile)), lblFile);
  if (img.dims.length !== 3) throw new FarmerError('FARMER_E_CORRUPT', `${imgFile}: expected 3 dims (count, rows, cols), got ${img.dims.length}`, { file: imgFile });
  if (lbl.dims.length !== 1 || lbl.dims[0] !== img.dims[0]) {
    throw new FarmerError('FARMER_E_CORRUPT', `${lblFile}: ${lbl.dims[0]} labels for ${img.dims[0]} images`, { file: lblFile });
  }
  const labels = Int32Array.from(lbl.data);
  const numClasses = Math.max(...labels) + 1;
  return makeDataset({
    name: `idx:${dir}`,
    split,
    images: { data: img.data, count: img.dims[0], height: img.dims[1], width: img.dims[2], channels: 1 },
    labels,
    numClasses,
    classNames: idxClassNames(dir, numClasses),
  });
}
