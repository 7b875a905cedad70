import { availableParallelism } from 'node:os';
import { FarmerError } from '@farmer/core';
import * as ort from 'onnxruntime-node';
import type { ParamSpec } from '../graph-ops.js';

/** Session settings of the gradient engines. */
export interface GradientSessionOptions {
  /** onnxruntime intra-op threads (default: the machine's available cores). */
  threads?: number;
  /**
   * 'dynamic' (default) serves every batch size from one session with a
   * symbolic batch axis; 'static' builds one session per batch size with
   * every shape fixed. On mnist-small at batch 64 the two ran equally fast
   * (within noise), so one session is the default.
   */
  batchShapes?: 'static' | 'dynamic';
  /** Write onnxruntime's profile (chrome trace JSON) under this prefix; it is flushed by `dispose()`. */
  profileFilePrefix?: string;
}

/**
 * The onnxruntime sessions of one gradient graph: created on first use of
 * each batch size (or once, with a symbolic batch), reused for every step.
 * `build(batch)` encodes the graph; undefined asks for the symbolic one.
 */
export class GradientSessions {
  private readonly sessions = new Map<number | 'any', Promise<ort.InferenceSession>>();
  private disposed = false;
  readonly threads: number;
  readonly batchShapes: 'static' | 'dynamic';

  constructor(
    private readonly build: (batch?: number) => Uint8Array,
    private readonly what: string,
    private readonly options: GradientSessionOptions = {},
  ) {
    this.threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(this.threads) || this.threads < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `threads must be a positive integer, got ${this.threads}`, { field: 'threads' });
    this.batchShapes = options.batchShapes ?? 'dynamic';
  }

  private open(model: Uint8Array): Promise<ort.InferenceSession> {
    const profile = this.options.profileFilePrefix;
    return ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: this.threads,
      // Spinning pool threads steal the cores the other threads (and other processes) need: with 2 threads
      // on a busy 2-core machine a step took twice as long spinning as not.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      logSeverityLevel: 3,
      ...(profile ? { enableProfiling: true, profileFilePrefix: profile } : {}),
    });
  }

  /** Runs the graph for a batch of `batch` rows. A failure names the graph. */
  async run(batch: number, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
    if (this.disposed) throw new FarmerError('FARMER_E_BAD_INPUT', `the ${this.what} engine was disposed`);
    const key = this.batchShapes === 'dynamic' ? 'any' : batch;
    let session = this.sessions.get(key);
    if (!session) {
      session = this.open(this.build(key === 'any' ? undefined : batch));
      this.sessions.set(key, session);
    }
    try {
      return await (await session).run(feeds);
    } catch (e) {
      throw new FarmerError('FARMER_E_INTERNAL', `onnxruntime failed running the ${this.what} graph: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, {}, { cause: e });
    }
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

/** Feeds for parameter inputs: one float32 tensor per spec, each checked for its element count. */
export function paramFeeds(specs: readonly ParamSpec[], values: readonly Float32Array[], feeds: Record<string, ort.Tensor> = {}): Record<string, ort.Tensor> {
  if (values.length !== specs.length) throw new FarmerError('FARMER_E_SHAPE', `got ${values.length} parameter arrays for ${specs.length} parameters`, { field: 'values' });
  specs.forEach((p, i) => {
    const count = p.shape.reduce((x, y) => x * y, 1);
    if (values[i].length !== count) throw new FarmerError('FARMER_E_SHAPE', `parameter '${p.name}' has ${values[i].length} values, expected ${count} [${p.shape}]`, { tensor: p.name });
    feeds[p.name] = new ort.Tensor('float32', values[i], p.shape);
  });
  return feeds;
}

/** Checks images [B, C, H, W] against an AF's geometry; returns B. */
export function checkImages(images: Float32Array, shape: readonly number[], geometry: { inChannels: number; imageSize: number }): number {
  const [b, ch, h, w] = shape;
  if (shape.length !== 4 || ch !== geometry.inChannels || h !== geometry.imageSize || w !== geometry.imageSize || !(b >= 1)) {
    throw new FarmerError('FARMER_E_SHAPE', `images must be [B, ${geometry.inChannels}, ${geometry.imageSize}, ${geometry.imageSize}], got [${shape}]`, { field: 'images' });
  }
  if (images.length !== b * ch * h * w) throw new FarmerError('FARMER_E_SHAPE', `images hold ${images.length} values for shape [${shape}]`, { field: 'images' });
  return b;
}

/** The first value of a scalar output. */
export function scalarOutput(out: ort.InferenceSession.ReturnType, name: string): number {
  return Number((out[name].data as Float32Array)[0]);
}
