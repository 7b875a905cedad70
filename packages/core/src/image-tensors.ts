import { floatNCHWToU8, u8ToFloatNCHW, type U8Images } from './image.js';
import { tf } from './tf.js';

/** HWC u8 images → float tensor [B, C, H, W] in [-1, 1]. */
export function imagesToTensor(im: U8Images): tf.Tensor4D {
  return tf.tensor4d(u8ToFloatNCHW(im), [im.count, im.channels, im.height, im.width]);
}

/** Float tensor [B, C, H, W] → HWC u8 images (clamped and quantised). */
export async function tensorToImages(x: tf.Tensor4D): Promise<U8Images> {
  const v = await x.data();
  return floatNCHWToU8(v as Float32Array, x.shape);
}
