import { FarmerError } from '@farmer/core';
import { emaDecayAt } from './ema.js';
import type { EngineContext, EngineFactory, EngineState, StepGradients, StepUpdate, TrainEngine } from './engine.js';
import { adamwUpdate, emaUpdate, hostGlobalNorm } from './host-optimizer.js';
import type { Figures } from './objective.js';

/**
 * A gradient computation over host arrays: given the weights (in-memory
 * layout, aligned with the objective's params) and a batch, the mean loss,
 * the objective's figures and the gradients. onnxruntime's training graph
 * (@farmer/onnx) is one; anything that maps arrays to arrays can be another.
 */
export interface HostGradient<TBatch, TFigures extends Figures> {
  /** 'ort', … (recorded in metrics and checkpoints). */
  readonly name: string;
  /** Intra-op threads of each replica. */
  readonly threads: number;
  /** Data-parallel replicas (default 1; see ParallelHostGradient). */
  readonly replicas?: number;
  /** Loss, figures and the gradient of every parameter (in the weights' order) on one batch. */
  gradient(weights: Float32Array[], batch: TBatch): Promise<{ loss: number; figures: TFigures; grads: Float32Array[] }>;
  /** Frees the sessions or threads behind it. */
  dispose(): Promise<void> | void;
}

/**
 * An engine whose whole state lives in host Float32Arrays: the gradient
 * comes from a HostGradient, and AdamW, the EMA and the gradient norm are
 * fused loops over the arrays (host-optimizer.ts). The arrays are the
 * engine's own copies, so nothing else can change them between steps.
 */
export class HostEngine<TBatch, TFigures extends Figures> implements TrainEngine<TBatch, TFigures> {
  readonly name: string;
  readonly workers: number;
  readonly threads: number;
  private readonly weights: Float32Array[];
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly decay: boolean[];
  private readonly ema?: Float32Array[];
  private emaUpdates: number;
  private step: number;
  private pending?: Float32Array[];

  constructor(
    private readonly grad: HostGradient<TBatch, TFigures>,
    private readonly ctx: EngineContext,
  ) {
    const s = ctx.state;
    if (s.weights.length !== ctx.params.length) throw new FarmerError('FARMER_E_INTERNAL', `engine state has ${s.weights.length} weights for ${ctx.params.length} parameters`);
    this.name = grad.name;
    this.workers = grad.replicas ?? 1;
    this.threads = grad.threads;
    this.weights = s.weights.map((w) => Float32Array.from(w));
    this.m = s.optimizer ? s.optimizer.m.map((x) => Float32Array.from(x)) : s.weights.map((w) => new Float32Array(w.length));
    this.v = s.optimizer ? s.optimizer.v.map((x) => Float32Array.from(x)) : s.weights.map((w) => new Float32Array(w.length));
    this.step = s.optimizer?.step ?? 0;
    this.decay = ctx.params.map((p) => p.shape.length >= 2);
    if (ctx.ema !== null) this.ema = (s.ema?.weights ?? s.weights).map((w) => Float32Array.from(w));
    this.emaUpdates = s.ema?.updates ?? 0;
  }

  async compute(batch: TBatch): Promise<StepGradients<TFigures>> {
    const r = await this.grad.gradient(this.weights, batch);
    this.pending = r.grads;
    return { loss: r.loss, gradNorm: hostGlobalNorm(r.grads), figures: r.figures };
  }

  async apply(u: StepUpdate): Promise<void> {
    const g = this.pending;
    if (!g) throw new FarmerError('FARMER_E_INTERNAL', 'apply() without a compute()');
    this.pending = undefined;
    if (u.skipped) return;
    this.step++;
    const o = { ...this.ctx.adamw, lr: u.lr, scale: u.scale, step: this.step };
    for (let i = 0; i < this.weights.length; i++) adamwUpdate(this.weights[i], g[i], this.m[i], this.v[i], { ...o, decay: this.decay[i] });
    if (this.ema) {
      const d = emaDecayAt(this.ctx.ema!, this.emaUpdates);
      this.emaUpdates++;
      for (let i = 0; i < this.ema.length; i++) emaUpdate(this.ema[i], this.weights[i], d);
    }
  }

  async state(): Promise<EngineState> {
    const copy = (a: Float32Array[]) => a.map((x) => Float32Array.from(x));
    return {
      weights: copy(this.weights),
      optimizer: { m: copy(this.m), v: copy(this.v), step: this.step },
      ema: this.ema ? { weights: copy(this.ema), updates: this.emaUpdates } : undefined,
    };
  }

  /** Frees the gradient source. */
  async dispose(): Promise<void> {
    this.pending = undefined;
    await this.grad.dispose();
  }
}

/** An engine factory over a host gradient, made for each run by `make`. */
export function hostEngine<TBatch, TFigures extends Figures>(make: (ctx: EngineContext) => Promise<HostGradient<TBatch, TFigures>> | HostGradient<TBatch, TFigures>): EngineFactory<TBatch, TFigures> {
  return async (ctx) => new HostEngine(await make(ctx), ctx);
}
