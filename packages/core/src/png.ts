import { PNG } from 'pngjs';
import { backgroundOf, checkBackground, compositeRgba, type Background } from './background.js';
import { FarmerError } from './errors.js';
import { checkU8Images, sliceImages, type U8Images } from './image.js';
import { checkPixelLimit } from './image-pixel-limit.js';
import { pngSize } from './png-size.js';

const COLOR_TYPE: Record<number, 0 | 2 | 6> = { 1: 0, 3: 2, 4: 6 };

/** Encodes one HWC u8 image (1, 3 or 4 channels) as PNG bytes. */
export function encodePng(im: U8Images, index = 0): Uint8Array {
  const one = im.count === 1 && index === 0 ? im : sliceImages(im, index, 1);
  checkU8Images(one);
  const colorType = COLOR_TYPE[one.channels];
  if (colorType === undefined) throw new FarmerError('FARMER_E_BAD_INPUT', `PNG needs 1, 3 or 4 channels, got ${one.channels}`);
  // pngjs takes RGBA input for every colour type.
  const png = new PNG({ width: one.width, height: one.height, colorType, inputColorType: 6, inputHasAlpha: true } as ConstructorParameters<typeof PNG>[0]);
  const px = one.width * one.height;
  for (let p = 0; p < px; p++) {
    const c = one.channels;
    const r = one.data[p * c];
    png.data[p * 4] = r;
    png.data[p * 4 + 1] = c >= 3 ? one.data[p * c + 1] : r;
    png.data[p * 4 + 2] = c >= 3 ? one.data[p * c + 2] : r;
    png.data[p * 4 + 3] = c === 4 ? one.data[p * c + 3] : 255;
  }
  return new Uint8Array(PNG.sync.write(png, { colorType }));
}

/** Options of {@link decodePng}. */
export interface DecodePngOptions {
  /** The colour transparent pixels are composited on (default black: see `backgroundOf`). */
  background?: Background;
}

/**
 * Decodes PNG bytes into one HWC u8 image with `channels` channels (1: luma of
 * the composited RGB, 3: RGB; a grey PNG is replicated). Alpha is composited on `options.background`
 * (docs/method.md §2.6 Transparency, by `compositeRgba`). Non-PNG input is a clear error, and so is
 * a header over the pixel limit (MAX_IMAGE_PIXELS), before anything is inflated.
 */
export function decodePng(bytes: Uint8Array, channels: 1 | 3 = 3, options: DecodePngOptions = {}): U8Images {
  const background = checkBackground(backgroundOf(options));
  checkPixelLimit(pngSize(bytes), 'PNG');
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `PNG could not be decoded: ${(e as Error).message}`, { field: 'image' });
  }
  // pngjs hands back RGBA for every colour type: a grey PNG comes as R = G = B, so it is replicated into 3 channels.
  const { width, height, data } = png;
  return { data: compositeRgba(data, channels, background), count: 1, height, width, channels };
}

/** Options of {@link imageGrid}. */
export interface GridOptions {
  /** Images per row (default: ceil(sqrt(count))). */
  columns?: number;
  /** Pixels between tiles (default 2). */
  padding?: number;
  /** Padding colour 0..255 (default 255). */
  background?: number;
}

/** Tiles a batch of same-size images into one image, row-major. */
export function imageGrid(im: U8Images, options: GridOptions = {}): U8Images {
  checkU8Images(im);
  const cols = Math.max(1, Math.min(options.columns ?? Math.ceil(Math.sqrt(im.count)), im.count));
  const rows = Math.ceil(im.count / cols);
  const pad = options.padding ?? 2;
  const { height: h, width: w, channels: c } = im;
  const gh = rows * h + (rows + 1) * pad;
  const gw = cols * w + (cols + 1) * pad;
  const data = new Uint8Array(gh * gw * c).fill(options.background ?? 255);
  for (let i = 0; i < im.count; i++) {
    const oy = pad + Math.floor(i / cols) * (h + pad);
    const ox = pad + (i % cols) * (w + pad);
    for (let y = 0; y < h; y++) {
      const src = ((i * h + y) * w) * c;
      data.set(im.data.subarray(src, src + w * c), ((oy + y) * gw + ox) * c);
    }
  }
  return { data, count: 1, height: gh, width: gw, channels: c };
}
