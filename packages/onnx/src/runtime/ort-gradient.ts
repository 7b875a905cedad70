import { availableParallelism } from 'node:os';
import { parseFarmerConfig, type FarmerConfig, type FarmerConfigInput } from '@farmer/ar-gmm';
import { FarmerError } from '@farmer/core';
import * as ort from 'onnxruntime-node';
import { classRows } from '../class-rows.js';
import { buildFarmerGradientGraph, GRADIENT_OUTPUTS } from '../gradient-graph.js';
import type { ParamSpec } from '../graph-ops.js';

export interface OrtGradientOptions {
  /** onnxruntime intra-op threads (default: the machine's available cores). */
  threads?: number;
  /**
   * 'static' (default) builds one session per batch size, with every shape
   * fixed, so onnxruntime plans memory once; 'dynamic' serves every batch
   * size from one session with a symbolic batch axis.
   */
  batchShapes?: 'static' | 'dynamic';
  /** Write onnxruntime's profile (chrome trace JSON) under this prefix; it is flushed by `dispose()`. */
  profileFilePrefix?: string;
}

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
  private readonly sessions = new Map<number | 'any', Promise<ort.InferenceSession>>();
  private disposed = false;

  private constructor(
    readonly config: FarmerConfig,
    /** Parameter names and in-memory shapes, in `FarmerModel.variables()` order. */
    readonly params: ParamSpec[],
    private readonly options: Required<Pick<OrtGradientOptions, 'threads' | 'batchShapes'>> & Pick<OrtGradientOptions, 'profileFilePrefix'>,
  ) {}

  /**
   * Prepares the engine for a config. The gradient graph is built once here
   * (so an op without a gradient rule fails now, FARMER_E_UNSUPPORTED naming
   * it); sessions are created on first use of each batch size.
   */
  static async create(config: FarmerConfig | FarmerConfigInput, options: OrtGradientOptions = {}): Promise<OrtGradient> {
    const c = parseFarmerConfig(config);
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `threads must be a positive integer, got ${threads}`, { field: 'threads' });
    const built = buildFarmerGradientGraph(c);
    const engine = new OrtGradient(c, built.params, { threads, batchShapes: options.batchShapes ?? 'static', profileFilePrefix: options.profileFilePrefix });
    if (engine.options.batchShapes === 'dynamic') engine.sessions.set('any', engine.open(built.graph.encode()));
    return engine;
  }

  private open(model: Uint8Array): Promise<ort.InferenceSession> {
    const profile = this.options.profileFilePrefix;
    return ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: this.options.threads,
      logSeverityLevel: 3,
      ...(profile ? { enableProfiling: true, profileFilePrefix: profile } : {}),
    });
  }

  private session(batch: number): Promise<ort.InferenceSession> {
    const key = this.options.batchShapes === 'dynamic' ? 'any' : batch;
    let s = this.sessions.get(key);
    if (!s) {
      s = this.open(buildFarmerGradientGraph(this.config, { batch }).graph.encode());
      this.sessions.set(key, s);
    }
    return s;
  }

  /**
   * Loss and gradients for one batch. values: every parameter in `params`
   * order (in-memory layout); images [B, C, H, W] row-major in [-1, 1]
   * (already noised); labels [B] (class, or -1 for the null label).
   */
  async run(values: readonly Float32Array[], images: Float32Array, shape: readonly [number, number, number, number], labels: ArrayLike<number> | null): Promise<OrtGradientResult> {
    if (this.disposed) throw new FarmerError('FARMER_E_BAD_INPUT', 'this OrtGradient was disposed');
    const f = this.config.flow;
    const [b, ch, h, w] = shape;
    if (ch !== f.inChannels || h !== f.imageSize || w !== f.imageSize || !(b >= 1)) {
      throw new FarmerError('FARMER_E_SHAPE', `images must be [B, ${f.inChannels}, ${f.imageSize}, ${f.imageSize}], got [${shape}]`, { field: 'images' });
    }
    if (images.length !== b * ch * h * w) throw new FarmerError('FARMER_E_SHAPE', `images hold ${images.length} values for shape [${shape}]`, { field: 'images' });
    if (values.length !== this.params.length) throw new FarmerError('FARMER_E_SHAPE', `got ${values.length} parameter arrays for ${this.params.length} parameters`, { field: 'values' });
    const feeds: Record<string, ort.Tensor> = {
      images: new ort.Tensor('float32', images, [b, ch, h, w]),
      class_row: new ort.Tensor('int64', classRows(labels, b, this.config.numClasses), [b]),
    };
    this.params.forEach((p, i) => {
      const count = p.shape.reduce((x, y) => x * y, 1);
      if (values[i].length !== count) throw new FarmerError('FARMER_E_SHAPE', `parameter '${p.name}' has ${values[i].length} values, expected ${count} [${p.shape}]`, { tensor: p.name });
      feeds[p.name] = new ort.Tensor('float32', values[i], p.shape);
    });
    const session = await this.session(b);
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await session.run(feeds);
    } catch (e) {
      throw new FarmerError('FARMER_E_INTERNAL', `onnxruntime failed running the gradient graph: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, {}, { cause: e });
    }
    const scalarOf = (name: string) => Number((out[name].data as Float32Array)[0]);
    return {
      loss: scalarOf(GRADIENT_OUTPUTS.loss),
      logdetPerDim: scalarOf(GRADIENT_OUTPUTS.logdetPerDim),
      grads: this.params.map((p) => out[GRADIENT_OUTPUTS.grad(p.name)].data as Float32Array),
    };
  }

  /** Releases every session (and flushes the profile when profiling). */
  async dispose(): Promise<void> {
    this.disposed = true;
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of sessions) {
      const session = await s.catch(() => undefined);
      if (!session) continue;
      if (this.options.profileFilePrefix) session.endProfiling();
      await session.release();
    }
  }
}
