import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '@farmer/core';

/** The classes of {@link colourShape}, in label order (their folder names sort this way). */
export const COLOUR_SHAPE_CLASSES = ['blue-ring', 'green-disc', 'red-square'] as const;

/**
 * Shape `k` of class `cls` (see {@link COLOUR_SHAPE_CLASSES}) as straight RGBA
 * [size, size, 4]: a blue ring, a green disc or a red square on a transparent
 * ground, its one-pixel rim half transparent (alpha 128), its position, size
 * and colour varying with k. Deterministic, so tests can rebuild any image.
 */
export function colourShape(cls: number, k: number, size = 16): Uint8Array {
  const rgba = new Uint8Array(size * size * 4);
  const cx = size / 2 + ((k * 3) % 5) - 2;
  const cy = size / 2 + ((k * 7) % 5) - 2;
  const r = size * 0.25 + (k % 3);
  const j = (k * 37) % 40;
  const colour = [
    [40, 70, 200 + j],
    [40, 180 + j, 60],
    [200 + j, 30 + j, 40],
  ][cls];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      // Distance outside the shape (≤ 0 inside).
      const out = cls === 2 ? Math.max(Math.abs(dx), Math.abs(dy)) - r : cls === 1 ? Math.hypot(dx, dy) - r : Math.abs(Math.hypot(dx, dy) - r) - 1.5;
      const alpha = out <= 0 ? 255 : out <= 1 ? 128 : 0;
      // Transparent pixels keep a colour of their own underneath, which compositing must ignore.
      rgba.set(alpha ? [...colour, alpha] : [(x * 31) % 256, (y * 17) % 256, 90, 0], (y * size + x) * 4);
    }
  }
  return rgba;
}

/** The PNG of {@link colourShape}: RGBA (colour type 6). */
export function colourShapePng(cls: number, k: number, size = 16): Uint8Array {
  return encodePng({ data: colourShape(cls, k, size), count: 1, height: size, width: size, channels: 4 });
}

/**
 * Writes a `folder:` dataset of {@link colourShapePng}s: DIR/train/CLASS/NN.png
 * (`train` per class, k = 0 … train − 1) and DIR/test/CLASS/NN.png (`test`
 * per class, k = 100 …). Returns the test files per class, in the order the
 * folder loader reads them (class folders, then file names, sorted).
 */
export function writeColourShapes(dir: string, options: { size?: number; train?: number; test?: number } = {}): { test: string[][] } {
  const { size = 16, train = 12, test = 4 } = options;
  const files: string[][] = [];
  for (const [split, n, k0] of [['train', train, 0], ['test', test, 100]] as const) {
    COLOUR_SHAPE_CLASSES.forEach((name, cls) => {
      const folder = join(dir, split, name);
      mkdirSync(folder, { recursive: true });
      const written = Array.from({ length: n }, (_, i) => {
        const file = join(folder, `${String(i).padStart(2, '0')}.png`);
        writeFileSync(file, colourShapePng(cls, k0 + i, size));
        return file;
      });
      if (split === 'test') files.push(written);
    });
  }
  return { test: files };
}
