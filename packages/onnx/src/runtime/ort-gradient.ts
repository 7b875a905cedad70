import { parseFarmerConfig, type FarmerConfig, type FarmerConfigInput } from '@farmer/ar-gmm';
import * as ort from 'onnxruntime-node';
import { classRows } from '../class-rows.js';
import { buildFarmerGradientGraph, GRADIENT_OUTPUTS } from '../gradient-graph.js';
import type { ParamSpec } from '../graph-ops.js';
import { checkImages, GradientSessions, paramFeeds, scalarOutput, type GradientSessionOptions } from './gradient-sessions.js';

/** Options of {@link OrtGradient.create}: threads and batch shapes of the gradient sessions. */
export type OrtGradientOptions = GradientSessionOptions;

/** One gradient evaluation. */
export interface OrtGradientResult {
  /** Batch mean of the NLL per dim (nats). */
  loss: number;
  /** Batch mean of Σ_t log|det_t| / (N·d). */
  logdetPerDim: number;
  /** d loss / d parameter, in `params` order and in-memory layout. */
  grads: Float32Array[];
}

/**
 * The FARMER loss and the gradient of every parameter on onnxruntime-node
 * (CPU), from one session run: the graph of `buildFarmerGradientGraph`,
 * whose parameters are inputs, so the same session serves every step.
 * Host arrays in, host arrays out; the optimiser stays with the caller.
 */
export class OrtGradient {
  private constructor(
    readonly config: FarmerConfig,
    /** Parameter names and in-memory shapes, in `FarmerModel.variables()` order. */
    readonly params: ParamSpec[],
    private readonly sessions: GradientSessions,
  ) {}

  /**
   * Prepares the engine for a config. The gradient graph is built once here
   * (so an op without a gradient rule fails now, FARMER_E_UNSUPPORTED naming
   * it); sessions are created on first use of each batch size.
   */
  static async create(config: FarmerConfig | FarmerConfigInput, options: OrtGradientOptions = {}): Promise<OrtGradient> {
    const c = parseFarmerConfig(config);
    const { params } = buildFarmerGradientGraph(c);
    const sessions = new GradientSessions((batch) => buildFarmerGradientGraph(c, { batch }).graph.encode(), 'FARMER gradient', options);
    return new OrtGradient(c, params, sessions);
  }

  /**
   * Loss and gradients for one batch. values: every parameter in `params`
   * order (in-memory layout); images [B, C, H, W] row-major in [-1, 1]
   * (already noised); labels [B] (class, or -1 for the null label).
   */
  async run(values: readonly Float32Array[], images: Float32Array, shape: readonly [number, number, number, number], labels: ArrayLike<number> | null): Promise<OrtGradientResult> {
    const b = checkImages(images, shape, this.config.flow);
    const feeds = paramFeeds(this.params, values, {
      images: new ort.Tensor('float32', images, [...shape]),
      class_row: new ort.Tensor('int64', classRows(labels, b, this.config.numClasses), [b]),
    });
    const out = await this.sessions.run(b, feeds);
    return {
      loss: scalarOutput(out, GRADIENT_OUTPUTS.loss),
      logdetPerDim: scalarOutput(out, GRADIENT_OUTPUTS.logdetPerDim),
      grads: this.params.map((p) => out[GRADIENT_OUTPUTS.grad(p.name)].data as Float32Array),
    };
  }

  /** onnxruntime intra-op threads of its sessions. */
  get threads(): number {
    return this.sessions.threads;
  }

  /** Releases every session (and flushes the profile when profiling). */
  dispose(): Promise<void> {
    return this.sessions.dispose();
  }
}
