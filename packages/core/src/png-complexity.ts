import sharp from 'sharp';
import { FarmerError } from './errors.js';
import { checkU8Images, type U8Images } from './image.js';

/** sharp's PNG at maximum compression: zlib level 9 with adaptive row filtering. */
const MAX_COMPRESSION = { compressionLevel: 9, adaptiveFiltering: true } as const;

/**
 * The input-complexity of each image (docs/method.md §5.5 OOD scores): the size of
 * sharp's PNG at maximum compression, in bits per dimension (8·bytes / (H·W·C)) [count].
 * images: u8 HWC [count, H, W, C], C 1 (written as a grey PNG) or 3 (RGB). Header and
 * chunk bytes count too, as they do in Serrà et al.'s compressed length; they are the
 * same for every image of one size, so they shift a score, never reorder it.
 */
export async function pngBitsPerDim(images: U8Images): Promise<Float64Array> {
  checkU8Images(images);
  const { count, height: H, width: W, channels: C, data } = images;
  if (C !== 1 && C !== 3) throw new FarmerError('FARMER_E_BAD_INPUT', `PNG complexity needs 1 or 3 channels, got ${C}`, { field: 'images' });
  const dims = H * W * C;
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const pixels = Buffer.from(data.buffer, data.byteOffset + i * dims, dims);
    const image = sharp(pixels, { raw: { width: W, height: H, channels: C } });
    // sharp writes raw one-channel input as RGB unless told its colourspace is grey (docs/method.md §13.9 Grayscale decoding).
    const png = await (C === 1 ? image.toColourspace('b-w') : image).png(MAX_COMPRESSION).toBuffer();
    out[i] = (8 * png.length) / dims;
  }
  return out;
}
