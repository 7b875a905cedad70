import { checkLabels, FarmerError, NULL_LABEL, type ParamStore, Rng, tf } from '@farmer/core';
import { causalMaskBias, layerNorm, layerWeights, linear, transformerLayer } from '@farmer/flow';
import { farmerDims, parseFarmerConfig, type FarmerConfig, type FarmerConfigInput, type FarmerDims } from './config.js';
import { headToGmm, type GmmTensors } from './gmm.js';
import { initArParams } from './ar-params.js';
import type { ArStreamSource, ArWeights } from './ar-stream-source.js';
import { TfArStream } from './tf-ar-stream.js';

/**
 * The AR-GMM backbone (docs/method.md §4.3 AR sequence): a causal pre-norm
 * Transformer over [class embedding × M] + [N informative tokens → D], with
 * learned positions and a final LayerNorm. The output at the last prefix slot
 * predicts G_1, the output at token i predicts G_{i+1}, and the output at token
 * N predicts the redundant GMM shared by all N tokens.
 */
export class ArModel implements ArStreamSource {
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

  /** The weights, resolved from the store: its own tensors (call inside a tidy scope when computing with them). */
  weights(): ArWeights {
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
  prefix(w: ArWeights, labels: ArrayLike<number> | null | undefined, batch: number): tf.Tensor3D {
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
    const w = this.weights();
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

  /** Disposes the model's weights. */
  dispose(): void {
    this.params.dispose();
    this.mask?.dispose();
    this.mask = undefined;
  }
}
