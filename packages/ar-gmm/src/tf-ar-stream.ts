import { FarmerError, tf } from '@farmer/core';
import { causalMaskBias, KVCache, layerNorm, linear, transformerLayer } from '@farmer/flow';
import type { ArStreamSource, ArWeights } from './ar-stream-source.js';
import { headOutputToGmm, type GmmBatch } from './gmm-host.js';
import type { StepGmm } from './runner-interface.js';

/**
 * An AR stream for sampling: one KV cache, one label per row. `first()`
 * prefills the class prefix and returns G_1; each `next(zI)` feeds token i
 * and returns G_{i+1}, or after the N-th token the shared redundant GMM.
 * The weights are resolved once, when the stream opens. Per-token cost is
 * O(position). Dispose when done.
 */
export class TfArStream {
  private readonly cache: KVCache;
  private readonly w: ArWeights;
  private fed = -1;

  constructor(
    private readonly model: ArStreamSource,
    private readonly labels: ArrayLike<number> | null | undefined,
    readonly batch: number,
  ) {
    this.cache = new KVCache(model.config.ar.layers);
    this.w = model.weights();
  }

  /** Tokens fed so far. */
  get position(): number {
    return Math.max(this.fed, 0);
  }

  private async head(h: tf.Tensor3D, kind: 'informative' | 'redundant'): Promise<GmmBatch> {
    const c = this.model.config.ar;
    const { dI, dR } = this.model.dims;
    const w = this.w;
    const raw = tf.tidy(() => {
      const hn = layerNorm(h, w.normW, w.normB);
      return kind === 'informative' ? linear(hn, w.headIW, w.headIB) : linear(hn, w.headRW!, w.headRB!);
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
    const w = this.w;
    const last = tf.tidy(() => {
      let h = this.model.prefix(w, this.labels, this.batch);
      const mask = causalMaskBias(M);
      for (let l = 0; l < w.layers.length; l++) h = transformerLayer(h, w.layers[l], this.model.heads, { mask, cache: this.cache, layer: l });
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
    const w = this.w;
    const h = tf.tidy(() => {
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
