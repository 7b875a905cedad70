import { checkLabels, FarmerError, NULL_LABEL, type ParamStore, Rng, tf } from '@farmer/core';
import { causalMaskBias, KVCache, layerNorm, layerWeights, linear, transformerLayer, type LayerWeights } from '@farmer/flow';
import { farmerDims, parseFarmerConfig, type FarmerConfig, type FarmerConfigInput, type FarmerDims } from './config.js';
import { headToGmm, type GmmTensors } from './gmm.js';
import { headOutputToGmm, type GmmBatch } from './gmm-host.js';
import { initArParams } from './ar-params.js';
import type { StepGmm } from './runner-interface.js';

/** The AR's weights, resolved from the store (call inside a tidy scope). */
interface ArWeights {
  classTable: tf.Tensor2D;
  projInW: tf.Tensor2D;
  projInB: tf.Tensor1D;
  pos: tf.Tensor2D;
  layers: LayerWeights[];
  normW: tf.Tensor1D;
  normB: tf.Tensor1D;
  headIW: tf.Tensor2D;
  headIB: tf.Tensor1D;
  headRW?: tf.Tensor2D;
  headRB?: tf.Tensor1D;
}

/**
 * The AR-GMM backbone (docs/method.md §4.3 AR sequence): a causal pre-norm
 * Transformer over [class embedding × M] + [N informative tokens → D], with
 * learned positions and a final LayerNorm. The output at the last prefix slot
 * predicts G_1, the output at token i predicts G_{i+1}, and the output at token
 * N predicts the redundant GMM shared by all N tokens.
 */
export class ArModel {
  readonly config: FarmerConfig;
  readonly dims: FarmerDims;
  readonly heads: number;
  private mask?: tf.Tensor2D;

  constructor(
    config: FarmerConfig | FarmerConfigInput,
    readonly params: ParamStore,
  ) {
    this.config = parseFarmerConfig(config);
    this.dims = farmerDims(this.config);
    this.heads = this.config.ar.width / this.config.ar.headDim;
  }

  /** A new AR-GMM with initial weights drawn from `seed` (docs/method.md §4.7 AR initialisation). */
  static create(config: FarmerConfig | FarmerConfigInput, seed: number | string = 0): ArModel {
    const c = parseFarmerConfig(config);
    return new ArModel(c, initArParams(c, new Rng(`ar-init:${seed}`)));
  }

  private w(): ArWeights {
    const g = <T extends tf.Tensor>(n: string) => this.params.get(n) as tf.Tensor as T;
    const red = this.dims.dR > 0;
    return {
      classTable: g('class_embed'),
      projInW: g('proj_in.weight'),
      projInB: g('proj_in.bias'),
      pos: g('pos_embed'),
      layers: Array.from({ length: this.config.ar.layers }, (_, l) => layerWeights(this.params, `layers.${l}.`)),
      normW: g('norm.weight'),
      normB: g('norm.bias'),
      headIW: g('head_informative.weight'),
      headIB: g('head_informative.bias'),
      headRW: red ? g<tf.Tensor2D>('head_redundant.weight') : undefined,
      headRB: red ? g<tf.Tensor1D>('head_redundant.bias') : undefined,
    };
  }

  /**
   * One-hot rows into the class table [B, C+1]: label c ≥ 0 → row c, -1 →
   * the null row C. (A matMul instead of gather, whose gradient wasm lacks.)
   */
  classSelector(labels: ArrayLike<number> | null | undefined, batch: number): tf.Tensor2D {
    const rows = this.config.numClasses + 1;
    const classes = checkLabels(labels, batch, this.config.numClasses);
    const sel = new Float32Array(batch * rows);
    for (let i = 0; i < batch; i++) sel[i * rows + (classes[i] === NULL_LABEL ? rows - 1 : classes[i])] = 1;
    return tf.tensor2d(sel, [batch, rows]);
  }

  /** Shape [B, M, D]: the class embedding repeated M times, plus positions 0..M-1. */
  private prefix(w: ArWeights, labels: ArrayLike<number> | null | undefined, batch: number): tf.Tensor3D {
    const M = this.config.ar.prefixLength;
    const cls = tf.expandDims(tf.matMul(this.classSelector(labels, batch), w.classTable), 1);
    return tf.add(tf.tile(cls, [1, M, 1]), tf.slice(w.pos, [0, 0], [M, -1])) as tf.Tensor3D;
  }

  private causalMask(): tf.Tensor2D {
    this.mask ??= tf.keep(causalMaskBias(this.dims.seqLen));
    return this.mask;
  }

  /**
   * Teacher-forced pass (training, likelihood). zI [B, N, d_I] in AR order →
   * informative GMMs [B, N, K_I, ...] (row i models token i) and the shared
   * redundant GMM [B, 1, K_R, ...] (absent when d_I = d). Differentiable.
   */
  forward(zI: tf.Tensor3D, labels: ArrayLike<number> | null | undefined): { informative: GmmTensors; redundant?: GmmTensors } {
    const { numTokens: N, dI } = this.dims;
    const [b, n, d] = zI.shape;
    if (n !== N || d !== dI) throw new FarmerError('FARMER_E_SHAPE', `AR input must be [B, ${N}, ${dI}], got [${zI.shape}]`);
    const M = this.config.ar.prefixLength;
    const w = this.w();
    const toks = tf.add(linear(zI, w.projInW, w.projInB), tf.slice(w.pos, [M, 0], [N, -1]));
    let h = tf.concat([this.prefix(w, labels, b), toks], 1) as tf.Tensor3D;
    for (const lw of w.layers) h = transformerLayer(h, lw, this.heads, { mask: this.causalMask() });
    h = layerNorm(h, w.normW, w.normB) as tf.Tensor3D;
    const hI = tf.slice(h, [0, M - 1, 0], [b, N, -1]);
    const informative = headToGmm(linear(hI, w.headIW, w.headIB), this.config.ar.componentsInformative, dI, this.config.ar.sigmaMin);
    if (!w.headRW) return { informative };
    const hR = tf.slice(h, [0, M + N - 1, 0], [b, 1, -1]);
    const redundant = headToGmm(linear(hR, w.headRW, w.headRB!), this.config.ar.componentsRedundant, this.dims.dR, this.config.ar.sigmaMin);
    return { informative, redundant };
  }

  /** Opens an incremental stream (KV-cached) for sampling; see ArStream. */
  openStream(labels: ArrayLike<number> | null | undefined, batch: number): TfArStream {
    return new TfArStream(this, labels, batch);
  }

  /** @internal Pieces the stream needs. */
  _internals() {
    return { w: () => this.w(), prefix: (w: ArWeights, labels: ArrayLike<number> | null | undefined, b: number) => this.prefix(w, labels, b), causalMask: () => causalMaskBias(this.config.ar.prefixLength) };
  }

  /** Disposes the model's weights. */
  dispose(): void {
    this.params.dispose();
    this.mask?.dispose();
    this.mask = undefined;
  }
}

/**
 * An AR stream for sampling: one KV cache, one label per row. `first()`
 * prefills the class prefix and returns G_1; each `next(zI)` feeds token i
 * and returns G_{i+1}, or after the N-th token the shared redundant GMM.
 * Per-token cost is O(position). Dispose when done.
 */
export class TfArStream {
  private readonly cache: KVCache;
  private fed = -1;

  constructor(
    private readonly model: ArModel,
    private readonly labels: ArrayLike<number> | null | undefined,
    readonly batch: number,
  ) {
    this.cache = new KVCache(model.config.ar.layers);
  }

  /** Tokens fed so far. */
  get position(): number {
    return Math.max(this.fed, 0);
  }

  private async head(h: tf.Tensor3D, kind: 'informative' | 'redundant'): Promise<GmmBatch> {
    const c = this.model.config.ar;
    const { dI, dR } = this.model.dims;
    const raw = tf.tidy(() => {
      const p = this.model.params;
      const hn = layerNorm(h, p.get('norm.weight') as tf.Tensor as tf.Tensor1D, p.get('norm.bias') as tf.Tensor as tf.Tensor1D);
      const [w, b] = kind === 'informative' ? ['head_informative.weight', 'head_informative.bias'] : ['head_redundant.weight', 'head_redundant.bias'];
      return linear(hn, p.get(w) as tf.Tensor as tf.Tensor2D, p.get(b) as tf.Tensor as tf.Tensor1D);
    });
    h.dispose();
    const v = await raw.data();
    raw.dispose();
    return kind === 'informative'
      ? headOutputToGmm(v, this.batch, c.componentsInformative, dI, c.sigmaMin)
      : headOutputToGmm(v, this.batch, c.componentsRedundant, dR, c.sigmaMin);
  }

  /** Prefills the class prefix; returns G_1 (token 0's GMM). */
  async first(): Promise<StepGmm> {
    if (this.fed !== -1) throw new FarmerError('FARMER_E_INTERNAL', 'first() was already called on this stream');
    const M = this.model.config.ar.prefixLength;
    const last = tf.tidy(() => {
      const inner = this.model._internals();
      const w = inner.w();
      let h = inner.prefix(w, this.labels, this.batch);
      for (let l = 0; l < w.layers.length; l++) h = transformerLayer(h, w.layers[l], this.model.heads, { mask: inner.causalMask(), cache: this.cache, layer: l });
      return tf.slice(h, [0, M - 1, 0], [this.batch, 1, -1]) as tf.Tensor3D;
    });
    this.fed = 0;
    return { kind: 'informative', token: 0, gmm: await this.head(last, 'informative') };
  }

  /**
   * Feeds token i's informative part zI [B·d_I] (the value every row sampled)
   * and returns the next GMM.
   */
  async next(zI: Float32Array): Promise<StepGmm> {
    const { numTokens: N, dI, dR } = this.model.dims;
    if (this.fed < 0) throw new FarmerError('FARMER_E_INTERNAL', 'call first() before next()');
    if (this.fed >= N) throw new FarmerError('FARMER_E_INTERNAL', `all ${N} tokens were already fed`);
    if (zI.length !== this.batch * dI) throw new FarmerError('FARMER_E_SHAPE', `next() takes B·d_I = ${this.batch * dI} values, got ${zI.length}`);
    const i = this.fed;
    if (i === N - 1 && dR === 0) throw new FarmerError('FARMER_E_INTERNAL', 'this model has no redundant group: the last token needs no next GMM');
    const M = this.model.config.ar.prefixLength;
    const h = tf.tidy(() => {
      const w = this.model._internals().w();
      let x = tf.add(linear(tf.tensor3d(zI, [this.batch, 1, dI]), w.projInW, w.projInB), tf.slice(w.pos, [M + i, 0], [1, -1])) as tf.Tensor3D;
      for (let l = 0; l < w.layers.length; l++) x = transformerLayer(x, w.layers[l], this.model.heads, { cache: this.cache, layer: l });
      return x;
    });
    this.fed = i + 1;
    if (i + 1 < N) return { kind: 'informative', token: i + 1, gmm: await this.head(h, 'informative') };
    return { kind: 'redundant', token: N, gmm: await this.head(h, 'redundant') };
  }

  /** Disposes the stream's KV cache and tensors; the model stays usable. */
  dispose(): void {
    this.cache.dispose();
  }
}
