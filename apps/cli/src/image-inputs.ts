import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { ModelImageOptions } from '@farmer/ar-gmm';
import { checkPngSize, decodePng, FarmerError, PNG_HEADER_BYTES, type U8Images } from '@farmer/core';

/** The first `n` bytes of a file (fewer when it is shorter). */
function readHead(file: string, n: number): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const head = new Uint8Array(n);
    return head.subarray(0, readSync(fd, head, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * PNG files of the model's size → u8 HWC images [count, size, size, channels]
 * as the model takes them (`modelImageOptions`): alpha composited on the
 * model's background, a grey PNG replicated for a colour model, a colour PNG
 * turned to its luma for a grey one (docs/method.md §2.6 Transparency).
 * Every file's header is checked against the size before any file is read
 * whole or decoded, so a huge PNG is refused without inflating it; a missing
 * file or a directory is refused by name.
 */
export function readPngFiles(files: string[], image: ModelImageOptions): U8Images {
  assertImagesExist(files);
  const { imageSize: size, channels, background } = image;
  const want = { width: size, height: size };
  for (const f of files) checkPngSize(readHead(f, PNG_HEADER_BYTES), want, f);
  const per = size * size * channels;
  const data = new Uint8Array(files.length * per);
  files.forEach((f, i) => data.set(decodePng(new Uint8Array(readFileSync(f)), channels, { background }).data, i * per));
  return { data, count: files.length, height: size, width: size, channels };
}

/** Refuses a missing image file or a directory by name (before any model is opened, so a typo fails fast). */
export function assertImagesExist(files: string[]): void {
  for (const f of files) {
    const stat = statSync(f, { throwIfNoEntry: false });
    if (!stat) throw new FarmerError('FARMER_E_NOT_FOUND', `image ${f} does not exist`, { file: f });
    if (stat.isDirectory()) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `image ${f} is a directory, not a PNG file; give PNG files (a folder of class sub-folders is a dataset: folder:${f})`, { file: f });
    }
  }
}
