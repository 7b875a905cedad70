import { FarmerError } from './errors.js';
import { checkGeometry, tokenShape, type PatchGeometry } from './patch-geometry.js';
import { tf } from './tf.js';

/**
 * docs/method.md §2.5 patch order (PyTorch `unfold` order): [B, C, H, W] →
 * [B, N, C·p·p], with token t = r·(W/p) + col and feature ch·p·p + i·p + j
 * inside a token.
 */
export function patchify(x: tf.Tensor4D, patchSize: number): tf.Tensor3D {
  const [b, c, h, w] = x.shape;
  checkGeometry({ channels: c, height: h, width: w, patchSize });
  const p = patchSize;
  return tf.tidy(() => {
    // [B, C, H/p, p, W/p, p] → [B, H/p, W/p, C, p, p]
    const six = tf.reshape(x, [b, c, h / p, p, w / p, p]);
    const t = tf.transpose(six, [0, 2, 4, 1, 3, 5]);
    return tf.reshape(t, [b, (h / p) * (w / p), c * p * p]);
  });
}

/** The exact inverse of `patchify`: [B, N, C·p·p] → [B, C, H, W]. */
export function unpatchify(tokens: tf.Tensor3D, g: PatchGeometry): tf.Tensor4D {
  const { numTokens, tokenDim } = tokenShape(g);
  const [b, n, d] = tokens.shape;
  if (n !== numTokens || d !== tokenDim) {
    throw new FarmerError('FARMER_E_SHAPE', `unpatchify: tokens are [${b}, ${n}, ${d}], geometry needs [B, ${numTokens}, ${tokenDim}]`);
  }
  const { channels: c, height: h, width: w, patchSize: p } = g;
  return tf.tidy(() => {
    const six = tf.reshape(tokens, [b, h / p, w / p, c, p, p]);
    const t = tf.transpose(six, [0, 3, 1, 4, 2, 5]);
    return tf.reshape(t, [b, c, h, w]) as tf.Tensor4D;
  });
}
