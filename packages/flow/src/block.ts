import { checkLabels, NULL_LABEL, type ParamStore, tf } from '@farmer/core';
import { flowDims, type FlowConfig } from './config.js';
import { permutedIndex } from './permutation.js';
import { permuteTokens } from './permute-tokens.js';
import { KVCache, layerWeights, linear, transformerLayer, type LayerWeights } from './transformer.js';

/**
 * Everything one AF block needs: the param store's own tensors (resolving
 * them makes none, so a caller may resolve them once and hold them for a
 * whole block without disposing anything).
 */
export interface BlockWeights {
  t: number;
  projInW: tf.Tensor2D;
  projInB: tf.Tensor1D;
  posEmbed: tf.Tensor2D;
  /** [C, 1, W] as in PyTorch, absent for unconditional flows. */
  classEmbed?: tf.Tensor3D;
  layers: LayerWeights[];
  projOutW: tf.Tensor2D;
  projOutB: tf.Tensor1D;
}

/** The weights of AF block `t` (`blocks.{t}.…`, docs/method.md §9.2 weight names) read from a parameter store. */
export function blockWeights(store: ParamStore, c: FlowConfig, t: number): BlockWeights {
  const b = `blocks.${t}.`;
  const g = <T extends tf.Tensor>(n: string) => store.get(b + n) as tf.Tensor as T;
  return {
    t,
    projInW: g('proj_in.weight'),
    projInB: g('proj_in.bias'),
    posEmbed: g('pos_embed'),
    classEmbed: c.numClasses > 0 ? g<tf.Tensor3D>('class_embed') : undefined,
    layers: Array.from({ length: c.layersPerBlock }, (_, l) => layerWeights(store, `${b}attn_blocks.${l}.`)),
    projOutW: g('proj_out.weight'),
    projOutB: g('proj_out.bias'),
  };
}

/**
 * Per-sample class mixing weights [B, C]: one-hot for a label ≥ 0, and 1/C
 * everywhere for the null label (-1), so that weights·class_embed gives the
 * TARFlow null embedding (the mean). A matMul, because tf.gather's gradient
 * is missing on wasm.
 */
export function classWeights(labels: ArrayLike<number> | null | undefined, batch: number, numClasses: number): tf.Tensor2D {
  const classes = checkLabels(labels, batch, numClasses);
  const w = new Float32Array(batch * numClasses);
  for (let i = 0; i < batch; i++) {
    if (classes[i] === NULL_LABEL) w.fill(1 / numClasses, i * numClasses, (i + 1) * numClasses);
    else w[i * numClasses + classes[i]] = 1;
  }
  return tf.tensor2d(w, [batch, numClasses]);
}

/** [B, 1, W] class vector for a block, or undefined for unconditional flows. */
export function classVector(bw: BlockWeights, weights: tf.Tensor2D | undefined): tf.Tensor3D | undefined {
  if (!bw.classEmbed || !weights) return undefined;
  const [classes, , width] = bw.classEmbed.shape;
  return tf.expandDims(tf.matMul(weights, tf.reshape(bw.classEmbed, [classes, width]) as tf.Tensor2D), 1) as tf.Tensor3D;
}

/** Options of {@link blockNet}: the causal mask (omitted: bidirectional) and the attention temperature. */
export interface BlockNetOptions {
  /** Causal attention (AF) or bidirectional (the distilled student). */
  causal?: tf.Tensor2D;
  attnTemp?: number;
}

/**
 * The block's network on tokens already in its working order: xp [B, N, d]
 * → proj_out output [B, N, out] (unshifted: row i predicts token i+1).
 */
export function blockNet(bw: BlockWeights, heads: number, xp: tf.Tensor3D, classVec: tf.Tensor3D | undefined, opts: BlockNetOptions = {}): tf.Tensor3D {
  // A prefix of T < N tokens (a Jacobi module's pass) reads the first T rows of the working-order table.
  const pos = permuteTokens(bw.t, bw.posEmbed, 0);
  const tokens = xp.shape[1];
  let h = tf.add(linear(xp, bw.projInW, bw.projInB), tokens < pos.shape[0] ? tf.slice(pos, [0, 0], [tokens, -1]) : pos) as tf.Tensor3D;
  if (classVec) h = tf.add(h, classVec);
  for (const lw of bw.layers) h = transformerLayer(h, lw, heads, { mask: opts.causal, attnTemp: opts.attnTemp });
  return linear(h, bw.projOutW, bw.projOutB) as tf.Tensor3D;
}

/** Shift right by one token: token 0 gets zeros, so it passes unchanged (docs/method.md §3.1 block forward). */
export function shiftRight(out: tf.Tensor3D): tf.Tensor3D {
  const [b, n, o] = out.shape;
  return tf.concat([tf.zeros([b, 1, o]), tf.slice(out, [0, 0, 0], [b, n - 1, o])], 1) as tf.Tensor3D;
}

/**
 * Splits proj_out output [..., out] into α and μ (first d, last d). Volume-
 * preserving blocks have α = 0. The optional soft clamp α ← c·tanh(α/c)
 * bounds exp(±α) for users who hit overflow; it is applied identically in
 * both directions, so the flow stays exactly invertible.
 */
export function alphaMu(out: tf.Tensor, c: FlowConfig, d: number): { alpha: tf.Tensor; mu: tf.Tensor } {
  if (!c.nvp) return { alpha: tf.zerosLike(out), mu: out };
  const last = out.rank - 1;
  const [a, mu] = tf.split(out, [d, d], last);
  const alpha = c.alphaClamp ? tf.mul(tf.tanh(tf.div(a, c.alphaClamp)), c.alphaClamp) : a;
  return { alpha, mu };
}

/**
 * Block forward (docs/method.md §3.1 block forward), x [B, N, d] in original
 * token order → z (original order) and log|det| [B] = −Σα over tokens and
 * dims (docs/method.md §3.2 logdet).
 */
export function blockForward(bw: BlockWeights, c: FlowConfig, x: tf.Tensor3D, classVec: tf.Tensor3D | undefined, causal: tf.Tensor2D): { z: tf.Tensor3D; logdet: tf.Tensor1D } {
  const { tokenDim: d, heads } = flowDims(c);
  const xp = permuteTokens(bw.t, x);
  const { alpha, mu } = alphaMu(shiftRight(blockNet(bw, heads, xp, classVec, { causal })), c, d);
  const zp = tf.mul(tf.sub(xp, mu), tf.exp(tf.neg(alpha))) as tf.Tensor3D;
  return { z: permuteTokens(bw.t, zp), logdet: tf.neg(tf.sum(alpha, [1, 2])) as tf.Tensor1D };
}

/**
 * The AF inverse step: x = z·exp(α) + μ, which undoes blockForward's
 * z = (x − μ)·exp(−α) once (α, μ) are known. Any broadcastable shapes:
 * [B, 1, d] per token in the sequential reverse, [B, N, d] in the
 * distilled student's one-pass block.
 */
export function blockInverseStep<T extends tf.Tensor>(z: T, alpha: tf.Tensor, mu: tf.Tensor): T {
  return tf.add(tf.mul(z, tf.exp(alpha)), mu) as T;
}

/** One incremental step: token x_i [B, 1, d] at working position i → proj_out [B, 1, out] (predicts i+1). */
export function blockStep(bw: BlockWeights, heads: number, xi: tf.Tensor3D, i: number, classVec: tf.Tensor3D | undefined, cache: KVCache, attnTemp = 1): tf.Tensor3D {
  // Working position i reads the pos_embed row that blockNet's permuted table puts there.
  const row = permutedIndex(bw.t, i, bw.posEmbed.shape[0]);
  let h = tf.add(linear(xi, bw.projInW, bw.projInB), tf.slice(bw.posEmbed, [row, 0], [1, -1])) as tf.Tensor3D;
  if (classVec) h = tf.add(h, classVec);
  bw.layers.forEach((lw, layer) => {
    h = transformerLayer(h, lw, heads, { cache, layer, attnTemp });
  });
  return linear(h, bw.projOutW, bw.projOutB) as tf.Tensor3D;
}
