import { FarmerError, type ParamStore } from '@farmer/core';
import { LN_EPS } from '@farmer/flow';
import { attr, type GraphBuilder } from './graph-builder.js';

/** Additive mask value, as in @farmer/flow: exp(-1e9) is exactly 0 in fp32. */
const MASKED = -1e9;

/** Resolves a parameter name (relative to a prefix) to an initializer of the graph. */
export type Params = (name: string) => string;

/**
 * Initializers for the weights of a ParamStore, named `prefix + name` (the
 * checkpoint name). Linear weights keep the store's in-memory [in, out]
 * layout, so every Linear is a plain MatMul.
 */
export function storeParams(g: GraphBuilder, store: ParamStore, prefix: string): Params {
  return (name) => g.weight(prefix + name, () => Float32Array.from(store.get(name).dataSync() as Float32Array), store.internalShape(name));
}

/** A parameter fed as a graph input: its checkpoint name and in-memory shape (Linear weights [in, out]). */
/** A parameter: checkpoint name and in-memory shape (the seam's own type, from @farmer/train). */
export type { ParamSpec } from '@farmer/train';
import type { ParamSpec } from '@farmer/train';

/**
 * Parameters as float32 graph inputs, declared in the order of `specs` and
 * named by their checkpoint names, so that one session serves every
 * training step. Resolves full names (use `under` for a prefix).
 */
export function inputParams(g: GraphBuilder, specs: readonly ParamSpec[]): Params {
  const declared = new Set(specs.map((s) => g.input(s.name, 'float32', s.shape)));
  return (name) => {
    if (!declared.has(name)) throw new FarmerError('FARMER_E_INTERNAL', `graph ${g.name} has no parameter input '${name}'`);
    return name;
  };
}

/** A float scalar constant. */
export function scalar(g: GraphBuilder, v: number): string {
  return g.floats([v], [], 'scalar');
}

/** y = x·W + b over the last axis; W [in, out]. */
export function linear(g: GraphBuilder, x: string, w: string, b?: string): string {
  const y = g.op('MatMul', [x, w]);
  return b ? g.op('Add', [y, b]) : y;
}

/** LayerNorm over the last axis, eps 1e-5 (opset 17 LayerNormalization). */
export function layerNorm(g: GraphBuilder, x: string, w: string, b: string): string {
  return g.op('LayerNormalization', [x, w, b], [attr.int('axis', -1), attr.float('epsilon', LN_EPS)]);
}

/** Exact GELU, ½·x·(1 + erf(x/√2)), in the pattern onnxruntime fuses into one kernel. */
export function geluExact(g: GraphBuilder, x: string): string {
  const e = g.op('Erf', [g.op('Div', [x, scalar(g, Math.SQRT2)])]);
  return g.op('Mul', [g.op('Mul', [x, g.op('Add', [e, scalar(g, 1)])]), scalar(g, 0.5)]);
}

/** Reverses axis `axis` of a tensor whose size there is `n` (the flip permutation, docs/method.md §3.4 permutations). */
export function reverseAxis(g: GraphBuilder, x: string, n: number, axis: number): string {
  return g.op('Gather', [x, g.int64s(Array.from({ length: n }, (_, i) => n - 1 - i))], [attr.int('axis', axis)], 'flip');
}

/** [T, T] additive causal mask (0 where j ≤ i, -1e9 elsewhere), built in the graph. */
export function causalMask(g: GraphBuilder, t: number): string {
  const r = g.op('Range', [g.int64s([0], []), g.int64s([t], []), g.int64s([1], [])]);
  const rows = g.op('Unsqueeze', [r, g.int64s([1])]);
  const cols = g.op('Unsqueeze', [r, g.int64s([0])]);
  return g.op('Where', [g.op('Greater', [cols, rows]), scalar(g, MASKED), scalar(g, 0)], [], 'causal_mask');
}

/** Slice of `x` along one axis: [start, end). */
export function slice(g: GraphBuilder, x: string, axis: number, start: number, end: number): string {
  return g.op('Slice', [x, g.int64s([start]), g.int64s([end]), g.int64s([axis])]);
}

/** The size of axis `axis` of `x`, as an int64 scalar. */
export function dimOf(g: GraphBuilder, x: string, axis: number): string {
  return g.op('Gather', [g.op('Shape', [x]), g.int64s([axis], [])], [attr.int('axis', 0)]);
}

/**
 * Per-layer KV cache values, both [B, H, t, hd]. (The tfjs KVCache keeps kᵀ
 * [B, H, hd, t] because tfjs-wasm multiplies untransposed operands fastest;
 * onnxruntime fuses the transpose into its MatMul, and appending to the
 * t axis of [B, H, t, hd] copies whole contiguous blocks, so the exported
 * graphs keep k untransposed.)
 */
export interface KvPair {
  k: string;
  v: string;
}

export interface LayerOptions {
  /** Additive attention mask [T, T] (full-sequence causal passes); omit for bidirectional attention. */
  mask?: string;
}

/** softmax(q·kᵀ/√hd + mask)·v over [B, H, ·, hd] operands; the transpose of k is fused by onnxruntime. */
function attend(g: GraphBuilder, q: string, k: string, v: string, hd: number, mask?: string): string {
  const kT = g.op('Transpose', [k], [attr.ints('perm', [0, 1, 3, 2])], 'kT');
  let s = g.op('Mul', [g.op('MatMul', [q, kT]), scalar(g, 1 / Math.sqrt(hd))], [], 'scores');
  if (mask) s = g.op('Add', [s, mask]);
  return g.op('MatMul', [g.op('Softmax', [s], [attr.int('axis', -1)]), v], [], 'attn');
}

/** x += MLP(LN(x)) and the attention residual: the parts of a layer that do not depend on the sequence layout. */
function residualAndMlp(g: GraphBuilder, x: string, attnOut: string, p: Params): string {
  const h = g.op('Add', [x, linear(g, attnOut, p('attention.proj.weight'), p('attention.proj.bias'))], [], 'resid');
  const up = linear(g, layerNorm(g, h, p('mlp.norm.weight'), p('mlp.norm.bias')), p('mlp.main.0.weight'), p('mlp.main.0.bias'));
  return g.op('Add', [h, linear(g, geluExact(g, up), p('mlp.main.2.weight'), p('mlp.main.2.bias'))], [], 'resid');
}

/**
 * One pre-norm Transformer layer over a sequence, shared by the AF and the AR
 * (docs/method.md §3.6 transformer layer): x += Attn(LN(x)); x += MLP(LN(x)).
 * `p` resolves names under the layer's prefix (`attention.qkv.weight`, ...).
 * x [B, T, W] → y [B, T, W]; also returns the layer's keys and values
 * [B, H, T, hd] (a prefill's cache).
 */
export function transformerLayer(g: GraphBuilder, x: string, p: Params, width: number, heads: number, opts: LayerOptions = {}): { y: string; present: KvPair } {
  const hd = width / heads;
  const qkv = linear(g, layerNorm(g, x, p('attention.norm.weight'), p('attention.norm.bias')), p('attention.qkv.weight'), p('attention.qkv.bias'));
  // [q | k | v], heads contiguous: [B, T, W] → [B, T, H, hd] → [B, H, T, hd].
  const [q, k, v] = g.opN('Split', [qkv, g.int64s([width, width, width])], 3, [attr.int('axis', 2)], 'qkv');
  const split = g.int64s([0, 0, heads, hd]);
  const toHeads = (t: string, hint: string) => g.op('Transpose', [g.op('Reshape', [t, split])], [attr.ints('perm', [0, 2, 1, 3])], hint);
  const [qh, kh, vh] = [toHeads(q, 'q'), toHeads(k, 'k'), toHeads(v, 'v')];
  const a = attend(g, qh, kh, vh, hd, opts.mask);
  const merged = g.op('Reshape', [g.op('Transpose', [a], [attr.ints('perm', [0, 2, 1, 3])]), g.int64s([0, 0, width])]);
  return { y: residualAndMlp(g, x, merged, p), present: { k: kh, v: vh } };
}

/**
 * The same layer for one new token with a KV cache (the sampling step):
 * x [B, W] → y [B, W], attending over past keys/values [B, H, t, hd] plus its
 * own; returns the caches grown to t + 1. Two-dimensional activations let
 * onnxruntime fuse every Linear into one Gemm, and with a single token the
 * head split is a reshape, no transpose.
 */
export function transformerStep(g: GraphBuilder, x: string, p: Params, width: number, heads: number, past: KvPair): { y: string; present: KvPair } {
  const hd = width / heads;
  const qkv = linear(g, layerNorm(g, x, p('attention.norm.weight'), p('attention.norm.bias')), p('attention.qkv.weight'), p('attention.qkv.bias'));
  const [q, k, v] = g.opN('Split', [qkv, g.int64s([width, width, width])], 3, [attr.int('axis', 1)], 'qkv');
  const oneToken = g.int64s([0, heads, 1, hd]);
  const [qh, kh, vh] = [q, k, v].map((t) => g.op('Reshape', [t, oneToken]));
  const present = {
    k: g.op('Concat', [past.k, kh], [attr.int('axis', 2)], 'present_k'),
    v: g.op('Concat', [past.v, vh], [attr.int('axis', 2)], 'present_v'),
  };
  const a = g.op('Reshape', [attend(g, qh, present.k, present.v, hd), g.int64s([0, width])]);
  return { y: residualAndMlp(g, x, a, p), present };
}

/** Names under a sub-prefix. */
export function under(p: Params, prefix: string): Params {
  return (name) => p(prefix + name);
}
