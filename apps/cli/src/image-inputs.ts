import { existsSync, readFileSync } from 'node:fs';
import { decodePng, FarmerError, type U8Images } from '@farmer/core';

/** PNG files of one size → u8 HWC images [count, H, W, channels]; a missing file or mixed sizes are refused. */
export function readPngFiles(files: string[], channels: 1 | 3): U8Images {
  assertImagesExist(files);
  const parts = files.map((f) => decodePng(new Uint8Array(readFileSync(f)), channels));
  const { height, width } = parts[0];
  if (parts.some((p) => p.height !== height || p.width !== width)) throw new FarmerError('FARMER_E_BAD_INPUT', 'all images must have the same size', { field: 'images' });
  const data = new Uint8Array(parts.length * height * width * channels);
  parts.forEach((p, i) => data.set(p.data, i * p.data.length));
  return { data, count: parts.length, height, width, channels };
}

/** Refuses a missing image file by name (before any model is opened, so a typo fails fast). */
export function assertImagesExist(files: string[]): void {
  for (const f of files) if (!existsSync(f)) throw new FarmerError('FARMER_E_NOT_FOUND', `image ${f} does not exist`, { file: f });
}
