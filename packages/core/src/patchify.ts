import { FarmerError } from './errors.js';
import { tf } from './tf.js';

/** Image geometry shared by patchify, the flow and the AR. */
export interface PatchGeometry {
  channels: number;
  height: number;
  width: number;
  patchSize: number;
}

/** Tokens N and dims per token d = C·p² for a geometry. */
export function tokenShape(g: PatchGeometry): { numTokens: number; tokenDim: number } {
  checkGeometry(g);
  return { numTokens: (g.height / g.patchSize) * (g.width / g.patchSize), tokenDim: g.channels * g.patchSize * g.patchSize };
}

export function checkGeometry(g: PatchGeometry): void {
  const { channels, height, width, patchSize } = g;
  for (const [k, v] of Object.entries({ channels, height, width, patchSize })) {
    if (!Number.isInteger(v) || v <= 0) throw new FarmerError('FARMER_E_BAD_CONFIG', `${k} must be a positive integer, got ${v}`, { field: k });
  }
  if (height % patchSize || width % patchSize) {
    throw new FarmerError(
      'FARMER_E_BAD_CONFIG',
      `image ${height}×${width} is not divisible by patch size ${patchSize}; choose a patch size that divides both sides`,
      { field: 'patchSize' },
    );
  }
}

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

/** Index map of `patchify` on the host: out[(t·d + f)] = flat NCHW index (per image). */
export function patchIndexMap(g: PatchGeometry): Int32Array {
  const { numTokens, tokenDim } = tokenShape(g);
  const { height: h, width: w, patchSize: p } = g;
  const out = new Int32Array(numTokens * tokenDim);
  const cols = w / p;
  for (let t = 0; t < numTokens; t++) {
    const r = Math.floor(t / cols);
    const col = t % cols;
    for (let f = 0; f < tokenDim; f++) {
      const ch = Math.floor(f / (p * p));
      const i = Math.floor((f % (p * p)) / p);
      const j = f % p;
      out[t * tokenDim + f] = ch * h * w + (r * p + i) * w + (col * p + j);
    }
  }
  return out;
}
