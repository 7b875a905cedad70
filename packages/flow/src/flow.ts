import { FarmerError, type ParamStore, patchify, Rng, tf, unpatchify, type U8Images, imagesToTensor, tensorToImages } from '@farmer/core';
import { alphaMu, blockForward, blockInverseStep, blockNet, blockStep, blockWeights, classVector, classWeights, shiftRight } from './block.js';
import { flowDims, parseFlowConfig, type FlowConfig, type FlowConfigInput } from './config.js';
import { assertFiniteTokens } from './finite-tokens.js';
import type { JacobiPass } from './jacobi.js';
import { initFlowParams } from './params.js';
import { permuteTokens } from './permute-tokens.js';
import type { FlowReverseProgress } from './reverse-progress.js';
import { causalMaskBias, KVCache } from './transformer.js';

/** Labels per sample: a class index, or -1 for the null label; null/undefined = all null. */
export type Labels = ArrayLike<number> | null | undefined;

/**
 * What {@link Flow.forward} returns: the final latent, each block's logdet and, on request, each block's latent.
 * A type alias (not an interface) so that it is a TensorContainer and tf.tidy can return it.
 */
export type FlowForwardResult = {
  /** Final latent [B, N, d]. */
  z: tf.Tensor3D;
  /** log|det| of each block, each [B] (sum over tokens and dims). */
  logdets: tf.Tensor1D[];
  /** Latent after each block, [B, N, d] each (only with `keepLatents`). */
  latents?: tf.Tensor3D[];
};

/** Guidance on (α, μ) in the reverse of a class-conditional AF (docs/method.md §3.10 AF guidance). */
export interface FlowGuidance {
  /** Strength g; 0 disables the second stream. */
  scale: number;
  /** g_i = g·(i+1)/(N−1) over the block's tokens instead of a constant g. */
  annealed?: boolean;
  /** Attention temperature of the unconditional stream (TARFlow applies it there only). */
  attnTemp?: number;
}

/** Options of {@link Flow.reverse}: labels, guidance, the KV cache, progress and cancellation. */
export interface FlowReverseOptions {
  labels?: Labels;
  guidance?: FlowGuidance;
  /** false: recompute the whole prefix at every token (O(N²); for tests and benchmarks). */
  useKVCache?: boolean;
  /** Called after every token of every block. */
  onProgress?: (p: FlowReverseProgress) => void;
  signal?: AbortSignal;
}

/**
 * The autoregressive flow (docs/method.md §3 autoregressive flow): n
 * TARFlow-compatible blocks over patch tokens. Weights live in a ParamStore
 * under PyTorch names; forward is differentiable and runs in the caller's
 * tidy scope, reverse is KV-cached and async (progress, cancellation).
 */
export class Flow {
  readonly config: FlowConfig;
  readonly numTokens: number;
  readonly tokenDim: number;
  readonly heads: number;
  private mask?: tf.Tensor2D;

  constructor(
    config: FlowConfigInput | FlowConfig,
    readonly params: ParamStore,
  ) {
    this.config = parseFlowConfig(config);
    const d = flowDims(this.config);
    this.numTokens = d.numTokens;
    this.tokenDim = d.tokenDim;
    this.heads = d.heads;
  }

  /** A new flow with fresh weights (the identity map, since proj_out is zero). */
  static create(config: FlowConfigInput | FlowConfig, seed: number | string = 0): Flow {
    const c = parseFlowConfig(config);
    return new Flow(c, initFlowParams(c, new Rng(`flow-init:${seed}`)));
  }

  /** The image and patch geometry of the flow: channels, height, width, patch size. */
  get geometry() {
    const c = this.config;
    return { channels: c.inChannels, height: c.imageSize, width: c.imageSize, patchSize: c.patchSize };
  }

  /** [N, N] causal mask bias, made once. */
  causalMask(): tf.Tensor2D {
    this.mask ??= tf.keep(causalMaskBias(this.numTokens));
    return this.mask;
  }

  private checkTokens(x: tf.Tensor, what: string): void {
    const [, n, d] = x.shape;
    if (x.rank !== 3 || n !== this.numTokens || d !== this.tokenDim) {
      throw new FarmerError('FARMER_E_SHAPE', `${what} must be [B, ${this.numTokens}, ${this.tokenDim}], got [${x.shape}]`);
    }
  }

  private classWeightsFor(labels: Labels, batch: number): tf.Tensor2D | undefined {
    return this.config.numClasses > 0 ? classWeights(labels, batch, this.config.numClasses) : undefined;
  }

  /**
   * Data → latent. x [B, N, d] patch tokens. Differentiable; call inside
   * tf.tidy (or a gradient closure). Blocks run in order 0..n-1.
   */
  forward(x: tf.Tensor3D, options: { labels?: Labels; keepLatents?: boolean } = {}): FlowForwardResult {
    this.checkTokens(x, 'flow input');
    const cw = this.classWeightsFor(options.labels, x.shape[0]);
    const logdets: tf.Tensor1D[] = [];
    const latents: tf.Tensor3D[] = [];
    let h = x;
    for (let t = 0; t < this.config.numBlocks; t++) {
      const bw = blockWeights(this.params, this.config, t);
      const r = blockForward(bw, this.config, h, classVector(bw, cw), this.causalMask());
      h = r.z;
      logdets.push(r.logdet);
      if (options.keepLatents) latents.push(h);
    }
    return { z: h, logdets, latents: options.keepLatents ? latents : undefined };
  }

  /** Images [B, C, H, W] in [-1, 1] → forward on their patches. */
  forwardImages(x: tf.Tensor4D, options: { labels?: Labels; keepLatents?: boolean } = {}): FlowForwardResult {
    return this.forward(patchify(x, this.config.patchSize), options);
  }

  /**
   * Latent → data through every block (n-1 .. 0). z [B, N, d] → tokens
   * [B, N, d]. The caller owns the result; z is not disposed.
   */
  async reverse(z: tf.Tensor3D, options: FlowReverseOptions = {}): Promise<tf.Tensor3D> {
    return this.reverseFrom(this.config.numBlocks - 1, z, options);
  }

  /**
   * Maps the latent after block t back through blocks t, t-1, ..., 0 (for
   * partial decoding, e.g. the separation experiment).
   */
  async reverseFrom(t: number, z: tf.Tensor3D, options: FlowReverseOptions = {}): Promise<tf.Tensor3D> {
    this.checkBlock(t);
    let h = z;
    for (let b = t; b >= 0; b--) {
      const next = await this.reverseBlock(b, h, options, t - b);
      if (h !== z) h.dispose();
      h = next;
    }
    return h === z ? z.clone() : h;
  }

  private checkBlock(t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.config.numBlocks) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `block ${t} is outside [0, ${this.config.numBlocks})`, { field: 'block' });
    }
  }

  /**
   * Inverts one block: z^{t+1} → z^t, sequentially over the block's tokens
   * with a KV cache per attention layer (and a second, unconditional stream
   * when guided). Throws FARMER_E_NON_FINITE naming the block and token if
   * the result is not finite.
   */
  async reverseBlock(t: number, z: tf.Tensor3D, options: FlowReverseOptions = {}, blocksDone = 0): Promise<tf.Tensor3D> {
    this.checkBlock(t);
    this.checkTokens(z, 'flow latent');
    const c = this.config;
    const [batch, n, d] = z.shape;
    const g = options.guidance?.scale ?? 0;
    if (!(g >= 0) || !Number.isFinite(g)) throw new FarmerError('FARMER_E_BAD_INPUT', `guidance scale must be a finite number >= 0, got ${g}`, { field: 'guidance.scale' });
    const attnTemp = options.guidance?.attnTemp ?? 1;
    if (!(attnTemp > 0)) throw new FarmerError('FARMER_E_BAD_INPUT', `guidance attnTemp must be > 0, got ${attnTemp}`, { field: 'guidance.attnTemp' });
    const guided = g > 0;
    const cached = options.useKVCache !== false;
    // Working-order latent tokens, each [B, 1, d].
    const zTokens = tf.tidy(() => tf.split(permuteTokens(t, z), n, 1) as tf.Tensor3D[]);
    const xs: tf.Tensor3D[] = [zTokens[0].clone()];
    const cond = new KVCache(c.layersPerBlock);
    const uncond = new KVCache(c.layersPerBlock);
    const cwCond = this.classWeightsFor(options.labels, batch);
    const cwNull = guided ? this.classWeightsFor(null, batch) : undefined;
    // Resolved once for all the block's tokens: the store's own tensors, nothing to dispose.
    const bw = blockWeights(this.params, c, t);
    try {
      for (let i = 0; i < n - 1; i++) {
        if (options.signal?.aborted) throw new FarmerError('FARMER_E_ABORTED', 'flow reverse was cancelled');
        const next = tf.tidy(() => {
          const predict = (cw: tf.Tensor2D | undefined, cache: KVCache, temp: number) => {
            const cv = classVector(bw, cw);
            if (cached) return blockStep(bw, this.heads, xs[i], i, cv, cache, temp);
            // Naive path: rerun the causal net on the whole prefix (later rows are masked out).
            const prefix = tf.concat([...xs, ...zTokens.slice(i + 1)], 1) as tf.Tensor3D;
            return tf.slice(blockNet(bw, this.heads, prefix, cv, { causal: this.causalMask(), attnTemp: temp }), [0, i, 0], [-1, 1, -1]);
          };
          let { alpha, mu } = alphaMu(predict(cwCond, cond, 1), c, d);
          if (guided) {
            const u = alphaMu(predict(cwNull, uncond, attnTemp), c, d);
            const gi = options.guidance?.annealed ? (g * (i + 1)) / (n - 1) : g;
            alpha = tf.add(alpha, tf.mul(tf.sub(alpha, u.alpha), gi));
            mu = tf.add(mu, tf.mul(tf.sub(mu, u.mu), gi));
          }
          return blockInverseStep(zTokens[i + 1], alpha, mu);
        });
        xs.push(next);
        options.onProgress?.({ block: t, token: i + 1, tokens: n - 1, blocksDone, blocks: c.numBlocks });
        if (options.onProgress || options.signal) await new Promise((r) => setImmediate(r));
      }
      const out = tf.tidy(() => permuteTokens(t, tf.concat(xs, 1) as tf.Tensor3D));
      await this.assertFinite(out, t, 'reverse');
      return out;
    } finally {
      tf.dispose([...zTokens, ...xs]);
      cwCond?.dispose();
      cwNull?.dispose();
      cond.dispose();
      uncond.dispose();
    }
  }

  /**
   * Block t's fixed-point map for Jacobi decoding (docs/method.md §3.13 Jacobi decoding) on tfjs: one
   * causal pass over a working-order prefix x [B, T, d] gives
   * x_i = z_i·exp(α_i) + μ_i for every token at once (token 0 passes as z_0),
   * with the labels' class vector and, for guided TARFlow models, the
   * guided (α, μ) of {@link reverseBlock} (g_i = g·i/(N−1) when annealed).
   */
  jacobiPass(options: { labels?: Labels; guidance?: FlowGuidance } = {}): JacobiPass {
    const c = this.config;
    const { tokenDim: d, heads } = this;
    const n = this.numTokens;
    const g = options.guidance?.scale ?? 0;
    if (!(g >= 0) || !Number.isFinite(g)) throw new FarmerError('FARMER_E_BAD_INPUT', `guidance scale must be a finite number >= 0, got ${g}`, { field: 'guidance.scale' });
    const attnTemp = options.guidance?.attnTemp ?? 1;
    if (!(attnTemp > 0)) throw new FarmerError('FARMER_E_BAD_INPUT', `guidance attnTemp must be > 0, got ${attnTemp}`, { field: 'guidance.attnTemp' });
    return async (t, x, z, batch, tokens) => {
      this.checkBlock(t);
      const out = tf.tidy(() => {
        const bw = blockWeights(this.params, c, t);
        const mask = tokens < n ? (tf.slice(this.causalMask(), [0, 0], [tokens, tokens]) as tf.Tensor2D) : this.causalMask();
        const xt = tf.tensor3d(x, [batch, tokens, d]);
        const predict = (labels: Labels, temp: number) => {
          const cw = this.classWeightsFor(labels, batch);
          return alphaMu(shiftRight(blockNet(bw, heads, xt, classVector(bw, cw), { causal: mask, attnTemp: temp })), c, d);
        };
        let { alpha, mu } = predict(options.labels, 1);
        if (g > 0) {
          const u = predict(null, attnTemp);
          const gi = tf.tensor3d(Float32Array.from({ length: tokens }, (_, j) => (options.guidance?.annealed ? (g * j) / (n - 1) : g)), [1, tokens, 1]);
          alpha = tf.add(alpha, tf.mul(tf.sub(alpha, u.alpha), gi));
          mu = tf.add(mu, tf.mul(tf.sub(mu, u.mu), gi));
        }
        return blockInverseStep(tf.tensor3d(z, [batch, tokens, d]), alpha, mu);
      });
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    };
  }

  /**
   * Throws FARMER_E_NON_FINITE if x [B, N, d] holds NaN/Inf, naming the block
   * and the first offending token (in the block's sequential order, which is
   * where a reverse first went wrong) and sample. Disposes x on failure, and
   * also on success when `dispose` is set.
   */
  async assertFinite(x: tf.Tensor3D, t: number, phase: 'forward' | 'reverse', dispose = phase === 'forward'): Promise<void> {
    const ok = tf.tidy(() => tf.all(tf.isFinite(x)));
    const fine = (await ok.data())[0] === 1;
    ok.dispose();
    if (fine) {
      if (dispose) x.dispose();
      return;
    }
    const v = await x.data();
    x.dispose();
    assertFiniteTokens(v, x.shape, t, phase);
  }

  /** Latents [B, N, d] → u8 images through the full reverse. */
  async decode(z: tf.Tensor3D, options: FlowReverseOptions = {}): Promise<U8Images> {
    const tokens = await this.reverse(z, options);
    const img = tf.tidy(() => tf.clipByValue(unpatchify(tokens, this.geometry), -1, 1) as tf.Tensor4D);
    tokens.dispose();
    try {
      return await tensorToImages(img);
    } finally {
      img.dispose();
    }
  }

  /**
   * u8 images → latents: z, per-block logdets [B] and, with `keepLatents`,
   * every block's latent. Checks finiteness per block. Caller disposes.
   */
  async encode(images: U8Images, options: { labels?: Labels; keepLatents?: boolean } = {}): Promise<FlowForwardResult> {
    const c = this.config;
    if (images.channels !== c.inChannels || images.height !== c.imageSize || images.width !== c.imageSize) {
      throw new FarmerError(
        'FARMER_E_SHAPE',
        `images are ${images.height}×${images.width}×${images.channels}, this flow takes ${c.imageSize}×${c.imageSize}×${c.inChannels}`,
        { field: 'images' },
      );
    }
    const r = tf.tidy(() => {
      const out = this.forwardImages(imagesToTensor(images), { labels: options.labels, keepLatents: true });
      return { z: out.z, logdets: out.logdets, latents: out.latents! };
    });
    try {
      for (let t = 0; t < r.latents.length; t++) await this.assertFinite(r.latents[t].clone(), t, 'forward');
    } catch (e) {
      tf.dispose([...r.latents, ...r.logdets]);
      throw e;
    }
    if (!options.keepLatents) tf.dispose(r.latents.slice(0, -1));
    return { z: r.z, logdets: r.logdets, latents: options.keepLatents ? r.latents : undefined };
  }

  /** Frees the weights and cached tensors. */
  dispose(): void {
    this.params.dispose();
    this.mask?.dispose();
    this.mask = undefined;
  }
}

