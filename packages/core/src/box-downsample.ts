import { FarmerError } from './errors.js';
import { checkU8Images, type U8Images } from './image.js';

/**
 * Halves the height and width of HWC u8 images by the exact mean of each 2×2
 * block, per channel, rounded (halves up): [N, H, W, C] → [N, H/2, W/2, C].
 * Averaging composited pixels (not resampling with a filter) keeps every
 * output value a plain function of four input bytes.
 */
export function boxDownsample2(im: U8Images): U8Images {
  checkU8Images(im);
  const { count: n, height: h, width: w, channels: c, data } = im;
  if (h % 2 !== 0 || w % 2 !== 0) throw new FarmerError('FARMER_E_SHAPE', `boxDownsample2 needs an even height and width, got ${h}×${w}`);
  const oh = h / 2;
  const ow = w / 2;
  const out = new Uint8Array(n * oh * ow * c);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const top = ((b * h + 2 * y) * w + 2 * x) * c;
        const bottom = top + w * c;
        const dst = ((b * oh + y) * ow + x) * c;
        for (let ch = 0; ch < c; ch++) {
          const sum = data[top + ch] + data[top + c + ch] + data[bottom + ch] + data[bottom + c + ch];
          out[dst + ch] = Math.round(sum / 4);
        }
      }
    }
  }
  return { data: out, count: n, height: oh, width: ow, channels: c };
}
