/**
 * The engine seam: what the training loop asks of whatever computes
 * gradients and holds the trained state. Everything crossing it is plain
 * numbers and host Float32Arrays, so an engine may keep its parameters,
 * gradients and optimizer state wherever it computes: tfjs variables on a
 * tfjs backend (tf-engine.ts, worker-engine.ts), or host arrays fed to
 * onnxruntime (@farmer/onnx). The loop owns the schedule, the non-finite
 * guard, the clipping decision, checkpoints and events; the engine owns the
 * arithmetic of a step.
 *
 * Per step the loop calls `compute(batch)`, decides from the returned loss
 * and gradient norm whether the step is finite and how much to scale it
 * (global-norm clipping), then calls `apply` exactly once, which updates the
 * weights with AdamW and then the EMA, or drops the gradients.
 */

/** A trained parameter: its checkpoint name and in-memory shape (see the objective's layout). */
export interface ParamSpec {
  name: string;
  shape: number[];
}

/** AdamW hyper-parameters (docs/method.md §6.2 AdamW). */
export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** AdamW moments, aligned with the params, and the number of updates taken. */
export interface OptimizerState {
  m: Float32Array[];
  v: Float32Array[];
  step: number;
}

/** EMA shadow weights, aligned with the params, and the number of EMA updates taken. */
export interface EmaState {
  weights: Float32Array[];
  updates: number;
}

/**
 * Host copy of everything an engine trains, aligned with the objective's
 * `params`, in their in-memory layout. A fresh run has no optimizer state
 * (zero moments) and no EMA (the shadow starts as the weights).
 */
export interface EngineState {
  weights: Float32Array[];
  optimizer?: OptimizerState;
  ema?: EmaState;
}

/** What `compute` returns: the batch's mean loss, the global L2 norm of its gradient, and the objective's own figures. */
export interface StepGradients<TFigures> {
  loss: number;
  /** √Σ g² over every parameter (NaN/Inf propagate). */
  gradNorm: number;
  figures: TFigures;
}

/** The loop's decision for the gradients of the last `compute`. */
export interface StepUpdate {
  /** Learning rate of this step. */
  lr: number;
  /** Gradient multiplier (clipping); 1 for none. */
  scale: number;
  /** True for a non-finite step: drop the gradients, change nothing. */
  skipped: boolean;
}

/** Computes a step's gradients and holds the trained state. */
export interface TrainEngine<TBatch, TFigures> {
  /** 'tfjs', 'ort', … (recorded in metrics and checkpoints). */
  readonly name: string;
  /** Data-parallel replicas (this thread plus worker threads), on every engine. */
  readonly workers: number;
  /** Intra-op threads of each replica, where the engine has them (onnxruntime); absent on tfjs (one per replica). */
  readonly threads?: number;
  /** Forward and backward pass of one batch; the gradients stay in the engine until `apply`. */
  compute(batch: TBatch): Promise<StepGradients<TFigures>>;
  /** AdamW at `lr` on the pending gradients × `scale`, then the EMA update; or drops them when skipped. */
  apply(update: StepUpdate): Promise<void>;
  /** A copy of the trained state (for checkpoints and evaluation). */
  state(): Promise<EngineState>;
  /** Frees the engine's tensors, sessions or threads. */
  dispose(): Promise<void> | void;
}

/** What an engine factory gets: the parameters, where to start, and the optimiser settings. */
export interface EngineContext {
  params: ParamSpec[];
  state: EngineState;
  adamw: AdamWOptions;
  /** EMA decay, or null for no EMA. */
  ema: number | null;
}

/** Builds an engine for one `run()`; the objective passes its own binding (tfjs variables, an ONNX graph, …) by closure. */
export type EngineFactory<TBatch, TFigures> = (ctx: EngineContext) => Promise<TrainEngine<TBatch, TFigures>> | TrainEngine<TBatch, TFigures>;

/** Numbers of the params' elements. */
export function paramSizes(params: ParamSpec[]): number[] {
  return params.map((p) => p.shape.reduce((a, b) => a * b, 1));
}
