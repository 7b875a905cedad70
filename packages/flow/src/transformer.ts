import { FarmerError, type ParamStore, tf } from '@farmer/core';

/**
 * The pre-norm Transformer layer shared by the AF and the AR
 * (docs/method.md §3.6 transformer layer):
 * x += Attn(LN(x)); x += MLP(LN(x)). LayerNorm eps 1e-5; qkv outputs are
 * [q | k | v], each with heads contiguous; MLP W → 4W → W with exact GELU.
 */
export const LN_EPS = 1e-5;
/** Additive mask value: exp(-1e9) is exactly 0 in fp32, and unlike -Inf it keeps gradients finite. */
const MASKED = -1e9;

/** PyTorch-layout shapes of one layer's weights under `prefix`. */
export function layerShapes(prefix: string, width: number): Record<string, number[]> {
  const W = width;
  return {
    [`${prefix}attention.norm.weight`]: [W],
    [`${prefix}attention.norm.bias`]: [W],
    [`${prefix}attention.qkv.weight`]: [3 * W, W],
    [`${prefix}attention.qkv.bias`]: [3 * W],
    [`${prefix}attention.proj.weight`]: [W, W],
    [`${prefix}attention.proj.bias`]: [W],
    [`${prefix}mlp.norm.weight`]: [W],
    [`${prefix}mlp.norm.bias`]: [W],
    [`${prefix}mlp.main.0.weight`]: [4 * W, W],
    [`${prefix}mlp.main.0.bias`]: [4 * W],
    [`${prefix}mlp.main.2.weight`]: [W, 4 * W],
    [`${prefix}mlp.main.2.bias`]: [W],
  };
}

/** One layer's weights, Linear weights held [in, out]. */
export interface LayerWeights {
  normW: tf.Tensor1D;
  normB: tf.Tensor1D;
  qkvW: tf.Tensor2D;
  qkvB: tf.Tensor1D;
  projW: tf.Tensor2D;
  projB: tf.Tensor1D;
  mlpNormW: tf.Tensor1D;
  mlpNormB: tf.Tensor1D;
  upW: tf.Tensor2D;
  upB: tf.Tensor1D;
  downW: tf.Tensor2D;
  downB: tf.Tensor1D;
}

/** The weights of one Transformer layer under `prefix` (docs/method.md §9.2 weight names), read from a parameter store. */
export function layerWeights(store: ParamStore, prefix: string): LayerWeights {
  const g = (n: string) => store.get(prefix + n) as tf.Tensor as never;
  return {
    normW: g('attention.norm.weight'),
    normB: g('attention.norm.bias'),
    qkvW: g('attention.qkv.weight'),
    qkvB: g('attention.qkv.bias'),
    projW: g('attention.proj.weight'),
    projB: g('attention.proj.bias'),
    mlpNormW: g('mlp.norm.weight'),
    mlpNormB: g('mlp.norm.bias'),
    upW: g('mlp.main.0.weight'),
    upB: g('mlp.main.0.bias'),
    downW: g('mlp.main.2.weight'),
    downB: g('mlp.main.2.bias'),
  };
}

/** y = x·W + b over the last axis; x [..., in], W [in, out] → [..., out]. */
export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor {
  const inDim = w.shape[0];
  const lead = x.shape.slice(0, -1);
  const y2 = tf.matMul(tf.reshape(x, [-1, inDim]), w);
  const y = b ? tf.add(y2, b) : y2;
  return tf.reshape(y, [...lead, w.shape[1]]);
}

/** LayerNorm over the last axis with biased variance, as PyTorch. */
export function layerNorm(x: tf.Tensor, w: tf.Tensor1D, b: tf.Tensor1D, eps = LN_EPS): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), w), b);
}

/** Exact GELU: ½·x·(1 + erf(x/√2)). */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/**
 * [B, T, 3W] → q [B, H, T, hd], kᵀ [B, H, hd, T], v [B, H, T, hd]. Split
 * first, then 4-D transposes: tfjs-wasm's 5-D transpose is ~80× slower, and
 * producing kᵀ directly saves a transpose and keeps the matMul untransposed.
 */
function splitHeads(qkv: tf.Tensor, heads: number): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const [b, t, w3] = qkv.shape;
  const hd = w3 / 3 / heads;
  const [q, k, v] = tf.split(qkv, 3, 2).map((x) => tf.reshape(x, [b, t, heads, hd]));
  return [tf.transpose(q, [0, 2, 1, 3]), tf.transpose(k, [0, 2, 3, 1]), tf.transpose(v, [0, 2, 1, 3])] as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
}

/** [B, H, T, hd] → [B, T, H·hd]. */
function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [b, h, t, hd] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, t, h * hd]);
}

/** softmax(q·kᵀ·scale + bias)·v, with kᵀ [B, H, hd, T] given explicitly. */
function attend(q: tf.Tensor4D, kT: tf.Tensor4D, v: tf.Tensor4D, scale: number, bias?: tf.Tensor): tf.Tensor4D {
  let s = tf.mul(tf.matMul(q, kT), scale);
  if (bias) s = tf.add(s, bias);
  return tf.matMul(tf.softmax(s), v);
}

/** [T, T] additive causal mask: 0 where j ≤ i, MASKED elsewhere. */
export function causalMaskBias(t: number): tf.Tensor2D {
  return tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([t, t]), -1, 0)), MASKED)) as tf.Tensor2D;
}

/** Options of {@link transformerLayer}: the mask, the attention temperature, and the KV cache and layer to append to. */
export interface LayerOptions {
  /** [T, T] additive causal mask; omit for bidirectional attention or a one-token step. */
  mask?: tf.Tensor2D;
  /** Attention logits are divided by this (TARFlow's attention temperature). */
  attnTemp?: number;
  /** Append this call's keys/values to the cache and attend over all of it. */
  cache?: KVCache;
  /** Which layer of the cache. */
  layer?: number;
}

/**
 * One pre-norm layer. x [B, T, W] → [B, T, W]. Without a cache this is the
 * full-sequence (training) pass. With a cache it either prefills an empty
 * cache with T tokens (causal mask required) or advances it by one token
 * (T = 1, no mask: the cache holds only earlier tokens), costing O(t).
 */
export function transformerLayer(x: tf.Tensor3D, w: LayerWeights, heads: number, opts: LayerOptions = {}): tf.Tensor3D {
  const hd = x.shape[2] / heads;
  let [q, kT, v] = splitHeads(linear(layerNorm(x, w.normW, w.normB), w.qkvW, w.qkvB), heads);
  if (opts.cache) {
    if (opts.cache.lengthOf(opts.layer ?? 0) > 0 && x.shape[1] !== 1) {
      throw new FarmerError('FARMER_E_INTERNAL', 'a non-empty KV cache advances one token at a time');
    }
    [kT, v] = opts.cache.append(opts.layer ?? 0, kT, v);
  }
  const a = mergeHeads(attend(q, kT, v, 1 / (Math.sqrt(hd) * (opts.attnTemp ?? 1)), opts.mask));
  const h = tf.add(x, linear(a, w.projW, w.projB));
  return tf.add(h, mlp(h, w)) as tf.Tensor3D;
}

function mlp(h: tf.Tensor, w: LayerWeights): tf.Tensor {
  return linear(geluExact(linear(layerNorm(h, w.mlpNormW, w.mlpNormB), w.upW, w.upB)), w.downW, w.downB);
}

/**
 * A per-stream KV cache: for each layer, kᵀ [B, H, hd, t] and v [B, H, t, hd]
 * of the tokens fed so far (kᵀ is kept transposed so attention needs no
 * transpose per step). Passed explicitly, never hidden on modules; tensors
 * live outside any tidy scope until `dispose`.
 */
export class KVCache {
  private kT: (tf.Tensor4D | undefined)[];
  private v: (tf.Tensor4D | undefined)[];

  constructor(readonly layers: number) {
    this.kT = new Array(layers).fill(undefined);
    this.v = new Array(layers).fill(undefined);
  }

  /** Tokens cached so far (in the last layer, which every step reaches). */
  get length(): number {
    return this.lengthOf(this.layers - 1);
  }

  /** Tokens cached so far in `layer`. */
  lengthOf(layer: number): number {
    return this.v[layer]?.shape[2] ?? 0;
  }

  /** Appends one step's kᵀ [B, H, hd, 1] and v [B, H, 1, hd] for `layer`; returns the full cache. */
  append(layer: number, kT: tf.Tensor4D, v: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const oldK = this.kT[layer];
    const oldV = this.v[layer];
    const nk = tf.keep(oldK ? tf.concat([oldK, kT], 3) : kT.clone());
    const nv = tf.keep(oldV ? tf.concat([oldV, v], 2) : v.clone());
    oldK?.dispose();
    oldV?.dispose();
    this.kT[layer] = nk;
    this.v[layer] = nv;
    return [nk, nv];
  }

  /** Keeps only batch rows `rows` (e.g. after resampling); frees the rest. */
  selectRows(rows: number[]): void {
    for (let l = 0; l < this.layers; l++) {
      for (const arr of [this.kT, this.v]) {
        const old = arr[l];
        if (!old) continue;
        arr[l] = tf.keep(tf.tidy(() => tf.gather(old, tf.tensor1d(rows, 'int32'), 0))) as tf.Tensor4D;
        old.dispose();
      }
    }
  }

  /** Disposes every cached key and value. */
  dispose(): void {
    for (const t of [...this.kT, ...this.v]) t?.dispose();
    this.kT.fill(undefined);
    this.v.fill(undefined);
  }
}

