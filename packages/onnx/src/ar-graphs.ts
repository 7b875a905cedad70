import { farmerDims, type FarmerConfig } from '@farmer/ar-gmm';
import type { ParamStore } from '@farmer/core';
import { attr, GraphBuilder, type WeightsFile } from './graph-builder.js';
import { BATCH, kvNames, kvShapes, PAST, PRESENT } from './io-names.js';
import { causalMask, dimOf, layerNorm, linear, slice, storeParams, transformerLayer, transformerStep, under, type KvPair, type Params } from './graph-ops.js';

function arSizes(c: FarmerConfig) {
  const dims = farmerDims(c);
  const heads = c.ar.width / c.ar.headDim;
  return { ...dims, D: c.ar.width, M: c.ar.prefixLength, heads, hd: c.ar.headDim, layers: c.ar.layers };
}

/** [B, M, D]: the class embedding of each row's class-table row, repeated M times, plus positions 0..M−1 (docs/method.md §4.3 AR sequence). */
function prefix(g: GraphBuilder, p: Params, classRow: string, M: number): string {
  const cls = g.op('Unsqueeze', [g.op('Gather', [p('class_embed'), classRow], [attr.int('axis', 0)], 'class'), g.int64s([1])]);
  return g.op('Add', [cls, slice(g, p('pos_embed'), 0, 0, M)], [], 'prefix');
}

/** The AR's layers over a sequence [B, T, D] (causal), or over one token [B, D] with KV caches. */
function layers(g: GraphBuilder, p: Params, c: FarmerConfig, h: string, opts: { mask: string } | { past: KvPair[] }): { h: string; present: KvPair[] } {
  const { D, heads } = arSizes(c);
  const present: KvPair[] = [];
  for (let l = 0; l < c.ar.layers; l++) {
    const lp = under(p, `layers.${l}.`);
    const r = 'past' in opts ? transformerStep(g, h, lp, D, heads, opts.past[l]) : transformerLayer(g, h, lp, D, heads, { mask: opts.mask });
    h = r.y;
    present.push(r.present);
  }
  return { h, present };
}

function finalNorm(g: GraphBuilder, p: Params, h: string): string {
  return layerNorm(g, h, p('norm.weight'), p('norm.bias'));
}

function outputPresent(g: GraphBuilder, c: FarmerConfig, present: KvPair[]): void {
  const { heads, hd } = arSizes(c);
  const s = kvShapes(heads, hd, PRESENT);
  present.forEach((kv, l) => {
    const n = kvNames(l);
    g.output(n.presentK, kv.k, 'float32', s.k);
    g.output(n.presentV, kv.v, 'float32', s.v);
  });
}

/**
 * The AR's teacher-forced pass (docs/method.md §4.4 GMM heads) inside graph `g`:
 * z_informative [B, N, d_I] (AR order) and class rows [B] (int64; the null
 * label is row numClasses) → raw head outputs: informative [B, N,
 * K_I(1+2d_I)] (row i models token i) and, when d_R > 0, redundant
 * [B, K_R(1+2d_R)] (the GMM shared by the N redundant vectors). The one
 * implementation behind the exported `ar-forward` graph and the training graph.
 */
export function arHeads(g: GraphBuilder, p: Params, c: FarmerConfig, z: string, classRow: string): { informative: string; redundant?: string } {
  const { numTokens: N, dR, M } = arSizes(c);
  const toks = g.op('Add', [linear(g, z, p('proj_in.weight'), p('proj_in.bias')), slice(g, p('pos_embed'), 0, M, M + N)]);
  const seq = g.op('Concat', [prefix(g, p, classRow, M), toks], [attr.int('axis', 1)]);
  const hn = finalNorm(g, p, layers(g, p, c, seq, { mask: causalMask(g, M + N) }).h);
  // The last prefix slot predicts G_1; token i's output predicts G_{i+1}; token N's the redundant GMM.
  const informative = linear(g, slice(g, hn, 1, M - 1, M + N - 1), p('head_informative.weight'), p('head_informative.bias'));
  if (dR === 0) return { informative };
  const last = g.op('Squeeze', [slice(g, hn, 1, M + N - 1, M + N), g.int64s([1])]);
  return { informative, redundant: linear(g, last, p('head_redundant.weight'), p('head_redundant.bias')) };
}

/**
 * The exported teacher-forced AR graph, for likelihood: z_informative
 * [B, N, d_I] and class_row [B] → head_informative [B, N, K_I(1+2d_I)] and,
 * when d_R > 0, head_redundant [B, K_R(1+2d_R)]. Raw head outputs: the GMM
 * math (softplus, log-densities) runs on the host.
 */
export function buildArForward(store: ParamStore, c: FarmerConfig, weights: WeightsFile, paramPrefix = 'ar.'): GraphBuilder {
  const { numTokens: N, dI, headInformative, headRedundant } = arSizes(c);
  const g = new GraphBuilder('farmer_ar_forward', weights);
  const p = storeParams(g, store, paramPrefix);
  const z = g.input('z_informative', 'float32', [BATCH, N, dI]);
  const classRow = g.input('class_row', 'int64', [BATCH]);
  const heads = arHeads(g, p, c, z, classRow);
  g.output('head_informative', heads.informative, 'float32', [BATCH, N, headInformative]);
  if (heads.redundant) g.output('head_redundant', heads.redundant, 'float32', [BATCH, headRedundant]);
  return g;
}

/**
 * Prefill of an AR stream: class_row [B] → head [B, K_I(1+2d_I)] (G_1, raw)
 * and the caches of the M prefix slots, present_key.l and present_value.l
 * [B, H, M, hd].
 */
export function buildArPrefill(store: ParamStore, c: FarmerConfig, weights: WeightsFile, paramPrefix = 'ar.'): GraphBuilder {
  const { M, headInformative } = arSizes(c);
  const g = new GraphBuilder('farmer_ar_prefill', weights);
  const p = storeParams(g, store, paramPrefix);
  const classRow = g.input('class_row', 'int64', [BATCH]);
  const r = layers(g, p, c, prefix(g, p, classRow, M), { mask: causalMask(g, M) });
  const last = g.op('Squeeze', [slice(g, r.h, 1, M - 1, M), g.int64s([1])]);
  g.output('head', linear(g, finalNorm(g, p, last), p('head_informative.weight'), p('head_informative.bias')), 'float32', [BATCH, headInformative]);
  outputPresent(g, c, r.present);
  return g;
}

/**
 * One AR token with an explicit KV cache: z_informative [B, d_I] is token i
 * (the positional row M + i is the cache length) → present caches grown by
 * one, `head` [B, K_I(1+2d_I)], the raw informative GMM of token i+1, and
 * `hidden` [B, D], the normalised output that `ar-head-redundant` turns
 * into the shared redundant GMM after the N-th token. (A separate head
 * graph, not an If node: onnxruntime's If costs more per step than the
 * whole head.)
 */
export function buildArStep(store: ParamStore, c: FarmerConfig, weights: WeightsFile, paramPrefix = 'ar.'): GraphBuilder {
  const { dI, D, heads, hd, headInformative } = arSizes(c);
  const g = new GraphBuilder('farmer_ar_step', weights);
  const p = storeParams(g, store, paramPrefix);
  const z = g.input('z_informative', 'float32', [BATCH, dI]);
  const s = kvShapes(heads, hd, PAST);
  const past: KvPair[] = [];
  for (let l = 0; l < c.ar.layers; l++) {
    const n = kvNames(l);
    past.push({ k: g.input(n.pastK, 'float32', s.k), v: g.input(n.pastV, 'float32', s.v) });
  }
  const pos = g.op('Gather', [p('pos_embed'), dimOf(g, past[0].v, 2)], [attr.int('axis', 0)], 'pos');
  const x = g.op('Add', [linear(g, z, p('proj_in.weight'), p('proj_in.bias')), pos]);
  const r = layers(g, p, c, x, { past });
  const hn = finalNorm(g, p, r.h);
  g.output('head', linear(g, hn, p('head_informative.weight'), p('head_informative.bias')), 'float32', [BATCH, headInformative]);
  g.output('hidden', hn, 'float32', [BATCH, D]);
  outputPresent(g, c, r.present);
  return g;
}

/** The redundant head (docs/method.md §4.4 GMM heads, d_R > 0): hidden [B, D] from ar-step's last token → head [B, K_R(1+2d_R)], raw. */
export function buildArHeadRedundant(store: ParamStore, c: FarmerConfig, weights: WeightsFile, paramPrefix = 'ar.'): GraphBuilder {
  const { D, headRedundant } = arSizes(c);
  const g = new GraphBuilder('farmer_ar_head_redundant', weights);
  const p = storeParams(g, store, paramPrefix);
  const hidden = g.input('hidden', 'float32', [BATCH, D]);
  g.output('head', linear(g, hidden, p('head_redundant.weight'), p('head_redundant.bias')), 'float32', [BATCH, headRedundant]);
  return g;
}
