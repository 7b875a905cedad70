import { existsSync, promises as fs } from 'node:fs';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { backgroundOf, BLACK_BACKGROUND, checkBackground, compositeRgba, type Background } from '../background.js';
import { FarmerError, isFarmerError } from '../errors.js';
import { checkPixelLimit, MAX_IMAGE_PIXELS } from '../image-pixel-limit.js';
import { makeDataset, type DatasetSplit, type ImageDataset } from './dataset.js';

const EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);

/** Options of {@link loadImageFolderDataset}. */
export interface ImageFolderOptions {
  /** Output side length: images are resized (cover) and centre-cropped to size×size. */
  imageSize: number;
  /** 1 (grayscale) or 3 (RGB); default 3. */
  channels?: 1 | 3;
  /** The colour transparent pixels are composited on (default black, as `decodePng`). */
  background?: Background;
}

/**
 * Decodes any image file sharp reads into size×size×channels u8, resized to
 * cover and centre-cropped, then composited on `background` and given the
 * model's channels by `compositeRgba`, the rule `decodePng` applies
 * (docs/method.md §2.6 Transparency): grey is the luma 0.299·R + 0.587·G +
 * 0.114·B, not sharp's own greyscale (which mixes in linear light and makes
 * pure red 127, not 76), and an image already of the size is exactly what
 * `decodePng` gives. sharp resizes the straight RGBA premultiplied, so
 * compositing after the resize equals compositing before it up to rounding.
 * The size in the file's header is checked against the pixel limit first
 * (sharp reads only the header for that).
 */
export async function loadImageFile(file: string, size: number, channels: 1 | 3, background: Background = BLACK_BACKGROUND): Promise<Uint8Array> {
  checkBackground(background);
  // metadata() reads the header only; sharp's own limit would refuse without saying the size.
  const { width, height } = await sharp(file, { limitInputPixels: false }).metadata();
  checkPixelLimit({ width: width ?? 0, height: height ?? 0 }, file);
  // The same limit again in sharp itself, which enforces it as it opens the input. Always 8-bit
  // sRGB with alpha, whatever the file holds (grey, palette, 16-bit, no alpha): 4 values a pixel.
  const { data, info } = await sharp(file, { limitInputPixels: MAX_IMAGE_PIXELS })
    .resize(size, size, { fit: 'cover', position: 'centre' })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 4 || info.width !== size || info.height !== size) {
    throw new FarmerError('FARMER_E_INTERNAL', `sharp decoded ${file} to ${info.width}×${info.height}×${info.channels}, not ${size}×${size} RGBA`, { file });
  }
  return compositeRgba(data, channels, background);
}

async function listClasses(root: string): Promise<{ className: string; files: string[] }[]> {
  const entries = await fs.readdir(root, { withFileTypes: true });
  const classes = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const out = [];
  for (const className of classes) {
    const files = (await fs.readdir(join(root, className))).filter((f) => EXTENSIONS.has(extname(f).toLowerCase())).sort();
    out.push({ className, files: files.map((f) => join(root, className, f)) });
  }
  return out;
}

/**
 * A folder with one sub-folder per class. If `dir/train` and `dir/test`
 * exist they are the splits; otherwise, within each class (files sorted by
 * name), file i is in the test split when i % 10 === 9. A split without
 * images (the test split when every class has fewer than 10) is a
 * FARMER_E_BAD_INPUT saying how to fix it, not an empty dataset whose
 * bits/dim would be NaN.
 */
export async function loadImageFolderDataset(dir: string, split: DatasetSplit, options: ImageFolderOptions): Promise<ImageDataset> {
  const size = options.imageSize;
  const channels = options.channels ?? 3;
  if (!Number.isInteger(size) || size <= 0) throw new FarmerError('FARMER_E_BAD_INPUT', `imageSize must be a positive integer, got ${size}`, { field: 'imageSize' });
  if (!existsSync(dir)) throw new FarmerError('FARMER_E_NOT_FOUND', `image folder ${dir} does not exist`, { file: dir });
  const hasSplits = existsSync(join(dir, 'train')) && existsSync(join(dir, 'test'));
  const root = hasSplits ? join(dir, split) : dir;
  const classes = await listClasses(root);
  if (!classes.length) throw new FarmerError('FARMER_E_BAD_INPUT', `${root} has no class sub-folders; put each class's images in its own sub-folder`, { file: root });
  const files: { file: string; label: number }[] = [];
  classes.forEach(({ files: fs_, className }, label) => {
    fs_.forEach((file, i) => {
      if (hasSplits || (i % 10 === 9) === (split === 'test')) files.push({ file, label });
    });
    if (!fs_.length) throw new FarmerError('FARMER_E_BAD_INPUT', `class folder ${join(root, className)} has no PNG/JPEG/WebP images`, { file: join(root, className) });
  });
  if (!files.length) {
    // Only the test split can come out empty: file 9 of 10 of each class goes there, the others train.
    throw new FarmerError(
      'FARMER_E_BAD_INPUT',
      `folder:${dir} has no test images: without train/ and test/ sub-folders every 10th image of a class is a test image, and no class here has 10 (the largest has ${Math.max(...classes.map((c) => c.files.length))}); add images until a class has at least 10, or split them yourself into ${join(dir, 'train')} and ${join(dir, 'test')}`,
      { file: dir, field: 'data' },
    );
  }
  const per = size * size * channels;
  const data = new Uint8Array(files.length * per);
  const labels = new Int32Array(files.length);
  for (let i = 0; i < files.length; i++) {
    try {
      data.set(await loadImageFile(files[i].file, size, channels, backgroundOf(options)), i * per);
    } catch (e) {
      if (isFarmerError(e)) throw e;
      throw new FarmerError('FARMER_E_CORRUPT', `cannot decode image ${files[i].file}: ${(e as Error).message}`, { file: files[i].file });
    }
    labels[i] = files[i].label;
  }
  return makeDataset({
    name: `folder:${dir}`,
    split,
    images: { data, count: files.length, height: size, width: size, channels },
    labels,
    numClasses: classes.length,
    classNames: classes.map((c) => c.className),
    background: backgroundOf(options),
  });
}
