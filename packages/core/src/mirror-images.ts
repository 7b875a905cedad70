import type { U8Images } from './image.js';

/**
 * A copy of `im` (NHWC) with image i mirrored left–right where `mirror[i]`:
 * pixel (y, x) takes (y, W−1−x), channels kept in order.
 */
export function mirrorImages(im: U8Images, mirror: ArrayLike<boolean>): U8Images {
  const { count, height: h, width: w, channels: c } = im;
  const data = im.data.slice();
  for (let i = 0; i < count; i++) {
    if (!mirror[i]) continue;
    for (let y = 0; y < h; y++) {
      const row = (i * h + y) * w * c;
      for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) data[row + x * c + k] = im.data[row + (w - 1 - x) * c + k];
    }
  }
  return { ...im, data };
}
