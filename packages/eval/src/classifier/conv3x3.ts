import { FarmerError, tf } from '@farmer/core';

/*
 * A 3×3 'same' convolution built from ops that all have a gradient on
 * tfjs-wasm (docs/method.md §13.7 Feature classifier): wasm registers no
 * Conv2DBackpropFilter, so `tf.conv2d` cannot train there, while pad, slice,
 * concat, reshape and matMul can (their gradients are pad, slice, slice,
 * reshape and matMul).
 */

/**
 * The 3×3 patches of `x` around every pixel, zero-padded at the border:
 * x [B, H, W, Cin] → [B, H, W, 9·Cin], where channel (ky·3 + kx)·Cin + c
 * holds x[b, y + ky − 1, x + kx − 1, c] (0 outside the image). Nine slices of
 * the padded input, concatenated on the channel axis.
 */
export function im2col3x3(xBHWC: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = xBHWC.shape;
  return tf.tidy(() => {
    const padded = tf.pad(xBHWC, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
    const taps: tf.Tensor4D[] = [];
    for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) taps.push(tf.slice(padded, [0, ky, kx, 0], [b, h, w, c]));
    return tf.concat(taps, 3);
  });
}

/**
 * 3×3 convolution (cross-correlation, as `tf.conv2d`), stride 1, 'same'
 * zero padding, no bias: x [B, H, W, Cin] · weight [9·Cin, Cout] →
 * [B, H, W, Cout], out[b, y, x, o] = Σ_{ky, kx, c} x[b, y + ky − 1, x + kx − 1, c] ·
 * weight[(ky·3 + kx)·Cin + c, o]. The weight is `tf.conv2d`'s HWIO filter
 * [3, 3, Cin, Cout] reshaped, so the two agree; one plain matMul of the
 * {@link im2col3x3} patches [B·H·W, 9·Cin] does the work (no transposed
 * operand, docs/method.md §13.1 Transposed Linear weights).
 */
export function conv3x3Same(xBHWC: tf.Tensor4D, weight9CinCout: tf.Tensor2D): tf.Tensor4D {
  const [b, h, w, cin] = xBHWC.shape;
  const [rows, cout] = weight9CinCout.shape;
  if (rows !== 9 * cin) throw new FarmerError('FARMER_E_SHAPE', `conv3x3Same: a weight of [${weight9CinCout.shape}] needs [${9 * cin}, Cout] for ${cin} input channels`, { field: 'weight' });
  return tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(im2col3x3(xBHWC), [b * h * w, 9 * cin]), weight9CinCout), [b, h, w, cout]));
}
