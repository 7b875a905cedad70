import type { ParamStore } from '@farmer/core';
import { flowDims, isFlipBlock, type FlowConfig } from '@farmer/flow';
import { attr, GraphBuilder, type WeightsFile } from './graph-builder.js';
import { BATCH, kvNames, kvShapes, PAST, PRESENT } from './io-names.js';
import { causalMask, dimOf, linear, reverseAxis, scalar, slice, storeParams, transformerLayer, transformerStep, under, type KvPair, type Params } from './graph-ops.js';

/** One block's parameters under `blocks.{t}.`, in a store holding the AF's (or the student's) names (docs/method.md §9.2 weight names). */
function blockParams(p: Params, t: number): Params {
  return under(p, `blocks.${t}.`);
}

/** The null-label class vector [1, W] of a class-conditional AF: the mean class embedding (TARFlow). FARMER runs its AF with it. */
function nullClassVector(g: GraphBuilder, bp: Params, c: FlowConfig): string | undefined {
  if (c.numClasses === 0) return undefined;
  return g.op('ReduceMean', [bp('class_embed')], [attr.ints('axes', [0]), attr.int('keepdims', 0)], 'null_class');
}

/** proj_in + positions (+ the null class vector): the block's input embedding. */
function embed(g: GraphBuilder, bp: Params, c: FlowConfig, x: string, pos: string): string {
  const h = g.op('Add', [linear(g, x, bp('proj_in.weight'), bp('proj_in.bias')), pos]);
  const cls = nullClassVector(g, bp, c);
  return cls ? g.op('Add', [h, cls]) : h;
}

/**
 * A block's network on tokens in its working order (docs/method.md §3.4 permutations): embedding, L
 * layers, proj_out. x [B, T, d] → [B, T, out]. Causal with `mask`,
 * bidirectional without (the student).
 */
function blockNet(g: GraphBuilder, bp: Params, c: FlowConfig, x: string, pos: string, mask?: string): string {
  const { heads } = flowDims(c);
  let h = embed(g, bp, c, x, pos);
  for (let l = 0; l < c.layersPerBlock; l++) h = transformerLayer(g, h, under(bp, `attn_blocks.${l}.`), c.width, heads, { mask }).y;
  return linear(g, h, bp('proj_out.weight'), bp('proj_out.bias'));
}

/** Splits proj_out output into (α, μ), with the optional soft clamp α ← c·tanh(α/c) (docs/method.md §3.7 alpha clamp); α is undefined for volume-preserving blocks. */
function alphaMu(g: GraphBuilder, out: string, c: FlowConfig, d: number): { alpha?: string; mu: string } {
  if (!c.nvp) return { mu: out };
  const [a, mu] = g.opN('Split', [out, g.int64s([d, d])], 2, [attr.int('axis', -1)], 'alpha_mu');
  if (!c.alphaClamp) return { alpha: a, mu };
  const k = scalar(g, c.alphaClamp);
  return { alpha: g.op('Mul', [g.op('Tanh', [g.op('Div', [a, k])]), k], [], 'alpha_clamped'), mu };
}

/** Patchify inside the graph (docs/method.md §2.5 patch order, PyTorch `unfold` order): [B, C, H, W] → [B, N, C·p²]. */
function patchify(g: GraphBuilder, images: string, c: FlowConfig): string {
  const p = c.patchSize;
  const s = c.imageSize / p;
  const six = g.op('Reshape', [images, g.int64s([0, c.inChannels, s, p, s, p])]);
  const t = g.op('Transpose', [six], [attr.ints('perm', [0, 2, 4, 1, 3, 5])]);
  return g.op('Reshape', [t, g.int64s([0, s * s, c.inChannels * p * p])], [], 'tokens');
}

/**
 * AF forward (docs/method.md §3.1 block forward) inside graph `g`: images [B, C, H, W] in
 * [-1, 1] → z [B, N, d] (AF order), logdets [B, n], the log|det| of each
 * block (−Σα over its tokens and dims), and latents, Z^t [B, N, d] for
 * t = 0 … n (Z^0 the patch tokens, Z^n = z). The one implementation behind
 * the exported `flow-forward` graph and the training graphs.
 */
export function flowForward(g: GraphBuilder, p: Params, c: FlowConfig, images: string): { z: string; logdets: string; latents: string[] } {
  const { numTokens: N, tokenDim: d } = flowDims(c);
  const mask = causalMask(g, N);
  let h = patchify(g, images, c);
  const latents = [h];
  const logdets: string[] = [];
  for (let t = 0; t < c.numBlocks; t++) {
    const bp = blockParams(p, t);
    const flip = isFlipBlock(t);
    const xp = flip ? reverseAxis(g, h, N, 1) : h;
    const pos = flip ? reverseAxis(g, bp('pos_embed'), N, 0) : bp('pos_embed');
    const out = blockNet(g, bp, c, xp, pos, mask);
    // Shift right by one token: token 0 gets zeros, so it passes unchanged.
    const shifted = g.op('Pad', [slice(g, out, 1, 0, N - 1), g.int64s([0, 1, 0, 0, 0, 0])], [], 'shift');
    const { alpha, mu } = alphaMu(g, shifted, c, d);
    const centred = g.op('Sub', [xp, mu]);
    const zp = alpha ? g.op('Mul', [centred, g.op('Exp', [g.op('Neg', [alpha])])], [], `z${t}`) : centred;
    const logdet = alpha
      ? g.op('Neg', [g.op('ReduceSum', [alpha, g.int64s([1, 2])], [attr.int('keepdims', 0)])], [], `logdet${t}`)
      : g.op('ConstantOfShape', [slice(g, g.op('Shape', [xp]), 0, 0, 1)], [], `logdet${t}`);
    logdets.push(g.op('Unsqueeze', [logdet, g.int64s([1])]));
    h = flip ? reverseAxis(g, zp, N, 1) : zp;
    latents.push(h);
  }
  return { z: h, logdets: g.op('Concat', logdets, [attr.int('axis', 1)]), latents };
}

/**
 * The exported AF forward graph, for likelihood: images [B, C, H, W] in
 * [-1, 1] → z [B, N, d] (AF order) and logdets [B, n].
 */
export function buildFlowForward(store: ParamStore, c: FlowConfig, weights: WeightsFile, prefix = 'flow.'): GraphBuilder {
  const { numTokens: N, tokenDim: d } = flowDims(c);
  const g = new GraphBuilder('farmer_flow_forward', weights);
  const p = storeParams(g, store, prefix);
  const images = g.input('images', 'float32', [BATCH, c.inChannels, c.imageSize, c.imageSize]);
  const { z, logdets } = flowForward(g, p, c, images);
  g.output('z', z, 'float32', [BATCH, N, d]);
  g.output('logdets', logdets, 'float32', [BATCH, c.numBlocks]);
  return g;
}

/**
 * One token of block t's reverse (docs/method.md §3.3 block inverse): from x_i [B, d] at
 * working position i = the cache length and the KV caches of tokens 0..i−1,
 * predict (α, μ) for token i+1 and return x_{i+1} = z_{i+1}·exp(α) + μ and
 * the caches grown by one. The positional row is i (N−1−i in a flipped
 * block).
 */
function reverseStep(g: GraphBuilder, bp: Params, c: FlowConfig, t: number, x: string, zNext: string, past: KvPair[]): { xNext: string; present: KvPair[] } {
  const { numTokens: N, tokenDim: d, heads } = flowDims(c);
  const i = dimOf(g, past[0].v, 2);
  const row = isFlipBlock(t) ? g.op('Sub', [g.int64s([N - 1], []), i]) : i;
  let h = embed(g, bp, c, x, g.op('Gather', [bp('pos_embed'), row], [attr.int('axis', 0)], 'pos'));
  const present: KvPair[] = [];
  for (let l = 0; l < c.layersPerBlock; l++) {
    const r = transformerStep(g, h, under(bp, `attn_blocks.${l}.`), c.width, heads, past[l]);
    h = r.y;
    present.push(r.present);
  }
  const { alpha, mu } = alphaMu(g, linear(g, h, bp('proj_out.weight'), bp('proj_out.bias')), c, d);
  const scaled = alpha ? g.op('Mul', [zNext, g.op('Exp', [alpha])]) : zNext;
  return { xNext: g.op('Add', [scaled, mu], [], 'x_next'), present };
}

/**
 * One token of block t's reverse as a graph with an explicit KV cache:
 * inputs x [B, d] (the token at working position i = the cache length),
 * z_next [B, d] (the latent at position i+1) and past_key.l / past_value.l
 * [B, H, i, hd]; outputs x_next [B, d] and present_key.l / present_value.l
 * [B, H, i+1, hd]. Position 0 is fed with empty caches ([B, H, 0, hd]).
 */
export function buildFlowReverseStep(store: ParamStore, c: FlowConfig, t: number, weights: WeightsFile, prefix = 'flow.'): GraphBuilder {
  const { tokenDim: d, heads } = flowDims(c);
  const hd = c.width / heads;
  const g = new GraphBuilder(`farmer_flow_reverse_step_${t}`, weights);
  const bp = blockParams(storeParams(g, store, prefix), t);
  const x = g.input('x', 'float32', [BATCH, d]);
  const zNext = g.input('z_next', 'float32', [BATCH, d]);
  const shapes = kvShapes(heads, hd, PAST);
  const past: KvPair[] = [];
  for (let l = 0; l < c.layersPerBlock; l++) {
    const n = kvNames(l);
    past.push({ k: g.input(n.pastK, 'float32', shapes.k), v: g.input(n.pastV, 'float32', shapes.v) });
  }
  const r = reverseStep(g, bp, c, t, x, zNext, past);
  g.output('x_next', r.xNext, 'float32', [BATCH, d]);
  const outShapes = kvShapes(heads, hd, PRESENT);
  r.present.forEach((kv, l) => {
    const n = kvNames(l);
    g.output(n.presentK, kv.k, 'float32', outShapes.k);
    g.output(n.presentV, kv.v, 'float32', outShapes.v);
  });
  return g;
}

/**
 * Block t's whole reverse in one graph (a fast path for the runner): the
 * same step as `buildFlowReverseStep`, run N−1 times by an ONNX Loop whose
 * loop-carried state is x_i and the KV caches, so the sequential decode
 * costs one onnxruntime call per block instead of N−1. z [B, N, d] (the
 * latent after block t, AF order) → x [B, N, d] (before block t).
 */
export function buildFlowReverseBlock(store: ParamStore, c: FlowConfig, t: number, weights: WeightsFile, prefix = 'flow.'): GraphBuilder {
  const { numTokens: N, tokenDim: d, heads } = flowDims(c);
  const hd = c.width / heads;
  const g = new GraphBuilder(`farmer_flow_reverse_block_${t}`, weights);
  const bp = blockParams(storeParams(g, store, prefix), t);
  const flip = isFlipBlock(t);
  const z = g.input('z', 'float32', [BATCH, N, d]);
  const zp = flip ? reverseAxis(g, z, N, 1) : z;
  const x0 = g.op('Gather', [zp, g.int64s([0], [])], [attr.int('axis', 1)], 'x0');
  const emptyShape = g.op('Concat', [slice(g, g.op('Shape', [z]), 0, 0, 1), g.int64s([heads, 0, hd])], [attr.int('axis', 0)]);
  const empty = g.op('ConstantOfShape', [emptyShape], [], 'empty_cache');
  // Loop body: (iteration i, condition, x_i, caches) → (condition, x_{i+1}, caches + 1; scan output x_{i+1}).
  const body = g.subgraph(`reverse_block_${t}_body`);
  const iter = body.input('i', 'int64', []);
  const cond = body.input('cond_in', 'bool', []);
  const x = body.input('x_in', 'float32', [BATCH, d]);
  const past: KvPair[] = [];
  for (let l = 0; l < c.layersPerBlock; l++) past.push({ k: body.input(`k_in.${l}`, 'float32', [BATCH, heads, 't', hd]), v: body.input(`v_in.${l}`, 'float32', [BATCH, heads, 't', hd]) });
  const zNext = body.op('Gather', [zp, body.op('Add', [iter, body.int64s([1], [])])], [attr.int('axis', 1)], 'z_next');
  const r = reverseStep(body, bp, c, t, x, zNext, past);
  body.output('cond_out', cond, 'bool', []);
  body.output('x_out', r.xNext, 'float32', [BATCH, d]);
  r.present.forEach((kv, l) => {
    body.output(`k_out.${l}`, kv.k, 'float32', [BATCH, heads, 't1', hd]);
    body.output(`v_out.${l}`, kv.v, 'float32', [BATCH, heads, 't1', hd]);
  });
  body.output('x_scan', r.xNext, 'float32', [BATCH, d]);
  const carried = 1 + 2 * c.layersPerBlock;
  const outs = g.opN('Loop', [g.int64s([N - 1], []), g.bool(true), x0, ...Array.from({ length: 2 * c.layersPerBlock }, () => empty)], carried + 1, [attr.graph('body', body.graphProto())], 'loop');
  const scan = outs[carried]; // [N−1, B, d]
  const xs = g.op('Concat', [g.op('Unsqueeze', [x0, g.int64s([0])]), scan], [attr.int('axis', 0)]);
  const tokens = g.op('Transpose', [xs], [attr.ints('perm', [1, 0, 2])]);
  g.output('x', flip ? reverseAxis(g, tokens, N, 1) : tokens, 'float32', [BATCH, N, d]);
  return g;
}

/**
 * Block t's Jacobi pass (docs/method.md §3.13 Jacobi decoding): x [B, T, d] and z [B, T, d], a prefix of
 * T ≤ N tokens in the block's working order → x_next [B, T, d] with
 * x_next_0 = z_0 and x_next_i = z_i·exp(α_i(x_{<i})) + μ_i(x_{<i}): the
 * causal network once over the prefix, its output shifted right by one
 * token as in the forward. The positional rows and the causal mask are
 * the first T of the working order's.
 */
export function buildFlowJacobiPass(store: ParamStore, c: FlowConfig, t: number, weights: WeightsFile, prefix = 'flow.'): GraphBuilder {
  const { numTokens: N, tokenDim: d } = flowDims(c);
  const g = new GraphBuilder(`farmer_flow_jacobi_pass_${t}`, weights);
  const bp = blockParams(storeParams(g, store, prefix), t);
  const x = g.input('x', 'float32', [BATCH, 'tokens', d]);
  const z = g.input('z', 'float32', [BATCH, 'tokens', d]);
  const tokens = slice(g, g.op('Shape', [x]), 0, 1, 2); // [T]
  const zero = g.int64s([0]);
  const posAll = isFlipBlock(t) ? reverseAxis(g, bp('pos_embed'), N, 0) : bp('pos_embed');
  const pos = g.op('Slice', [posAll, zero, tokens, zero], [], 'pos');
  const mask = g.op('Slice', [causalMask(g, N), g.int64s([0, 0]), g.op('Concat', [tokens, tokens], [attr.int('axis', 0)]), g.int64s([0, 1])], [], 'mask');
  const out = blockNet(g, bp, c, x, pos, mask);
  const shifted = g.op('Pad', [slice(g, out, 1, 0, -1), g.int64s([0, 1, 0, 0, 0, 0])], [], 'shift');
  const { alpha, mu } = alphaMu(g, shifted, c, d);
  const scaled = alpha ? g.op('Mul', [z, g.op('Exp', [alpha])]) : z;
  g.output('x_next', g.op('Add', [scaled, mu], [], 'x_next'), 'float32', [BATCH, 'tokens', d]);
  return g;
}

/**
 * The one-step student (docs/method.md §8.1 student) inside graph `g`: blocks n−1 … 0,
 * each a copy of the teacher block with bidirectional attention and no
 * output shift, in one parallel pass: x = z·exp(α'(z)) + μ'(z) in the
 * block's working order. z [B, N, d] (AF order) → outputs, where
 * outputs[t] [B, N, d] is block t's output (outputs[0] the patch tokens).
 * The one implementation behind the exported student and its distillation
 * graph.
 */
export function studentChain(g: GraphBuilder, p: Params, c: FlowConfig, z: string): string[] {
  const { numTokens: N, tokenDim: d } = flowDims(c);
  const outputs = new Array<string>(c.numBlocks);
  let h = z;
  for (let t = c.numBlocks - 1; t >= 0; t--) {
    const bp = blockParams(p, t);
    const flip = isFlipBlock(t);
    const zp = flip ? reverseAxis(g, h, N, 1) : h;
    const pos = flip ? reverseAxis(g, bp('pos_embed'), N, 0) : bp('pos_embed');
    const { alpha, mu } = alphaMu(g, blockNet(g, bp, c, zp, pos), c, d);
    const xp = g.op('Add', [alpha ? g.op('Mul', [zp, g.op('Exp', [alpha])]) : zp, mu], [], `student${t}`);
    h = flip ? reverseAxis(g, xp, N, 1) : xp;
    outputs[t] = h;
  }
  return outputs;
}

/** The exported student graph: z [B, N, d] (AF order) → x [B, N, d] patch tokens. */
export function buildStudent(store: ParamStore, c: FlowConfig, weights: WeightsFile, prefix = 'student.'): GraphBuilder {
  const { numTokens: N, tokenDim: d } = flowDims(c);
  const g = new GraphBuilder('farmer_student', weights);
  const p = storeParams(g, store, prefix);
  const z = g.input('z', 'float32', [BATCH, N, d]);
  g.output('x', studentChain(g, p, c, z)[0], 'float32', [BATCH, N, d]);
  return g;
}
