import type { Batch, CheckpointConfig, ImageDataset, Rng, TensorMap, tf } from '@farmer/core';
import type { EngineFactory, ParamSpec } from './engine.js';
import type { LoopSettings } from './loop-config.js';

/** Named per-step figures of an objective (numbers or per-block arrays), averaged over shards by weight. */
export type Figures = Record<string, number | number[]>;

/** The image geometry (and class count) a training run's data must have. */
export interface DataFit {
  channels: number;
  size: number;
  /** Largest class count the model accepts (0: any; an unconditional model ignores labels). */
  numClasses: number;
  /** Who takes the data, for messages: 'model' or 'teacher'. */
  subject: string;
  /** What to do about a mismatch, for messages. */
  hint: string;
}

/** A gradient computation on tfjs: the objective's variables and its loss. */
export interface TfBinding<TBatch, TFigures extends Figures> {
  /** Trainable variables, aligned with the objective's `params`. */
  readonly variables: tf.Variable[];
  /** Mean loss, figures and gradients (aligned with `variables`; the caller disposes them) of a batch or a shard of one. */
  lossAndGrads(batch: TBatch): { loss: number; figures: TFigures; grads: tf.Tensor[] };
}

/**
 * How worker threads build a replica of a tfjs objective without the train
 * package importing a model package: a module (path or file URL) whose
 * `createReplica(spec, weights)` returns a TfBinding<TBatch> over fresh
 * variables holding `weights`; `spec` is structured-cloned to the worker.
 */
export interface ReplicaSource {
  module: string;
  spec: unknown;
}

/** What a replica module exports. */
export interface ReplicaModule {
  /** Builds one replica in a worker thread from the objective's spec and the current weights. */
  createReplica(spec: unknown, weights: Float32Array[]): TfBinding<never, Figures> | Promise<TfBinding<never, Figures>>;
}

/** A batch the data-parallel engine can split into per-worker shards (typed arrays only, so it can be transferred). */
export interface Sharding<TBatch> {
  /** Rows in a batch. */
  size(batch: TBatch): number;
  /** Rows [start, start + count) of a batch. */
  shard(batch: TBatch, start: number, count: number): TBatch;
}

/** The types one objective fixes: its settings, step input, per-step figures, step-event fields and evaluation result. */
export interface ObjectiveTypes {
  config: LoopSettings;
  batch: unknown;
  figures: Figures;
  step: object;
  eval: object;
}

/**
 * What a TrainingRun optimises. FARMER's joint likelihood (@farmer/ar-gmm)
 * and the distillation of the AF inverse (@farmer/distill) are the two
 * instances. The objective owns its model (for evaluation and checkpoint
 * layout) and says how data become a step's input; engines compute its
 * gradients.
 */
export interface Objective<T extends ObjectiveTypes> {
  /** Recorded in the run's state as `objective` (a resume checks it). */
  readonly id: string;
  /** Validated settings; saved whole in the checkpoint as `trainConfig`. */
  readonly config: T['config'];
  /** Trained parameters in a fixed order. */
  readonly params: ParamSpec[];
  /** Checkpoint parts holding the trained weights, the optimizer state and the EMA weights. */
  readonly parts: { weights: string; optimizer: string; ema: string };
  readonly dataFit: DataFit;
  /** Turns a data batch into the step's input. All randomness comes from `rng`, so a resume repeats it. */
  prepare(batch: Batch, rng: Rng, step: number): T['batch'];
  /** Images in a prepared batch. */
  batchSize(batch: T['batch']): number;
  /** The objective's own fields of a step event (after `loss`). */
  stepFields(batch: T['batch'], figures: T['figures'], loss: number): T['step'];
  /** The model's current weights (in-memory layout, aligned with `params`). */
  values(): Float32Array[];
  /** Loads weights into the model. */
  load(values: Float32Array[]): void;
  /** Weights in checkpoint layout. */
  toTensorMap(values: Float32Array[]): TensorMap;
  /** Weights read from a checkpoint part (exact names and shapes; `file` names it in errors). */
  fromTensorMap(map: TensorMap, file: string): Float32Array[];
  /** Held-out figures of the model's current weights (the run loads the ones that ship first). */
  evaluate?(test: ImageDataset, opts: { maxImages: number; seed: number; signal?: AbortSignal }): Promise<T['eval']>;
  /** config.json of a checkpoint with run state `training`, and any parts besides the trained ones (e.g. a frozen teacher). */
  checkpoint(training: Record<string, unknown>, step: number): { config: CheckpointConfig; tensors?: Record<string, TensorMap> };
  /** The default engine (in-process tfjs) when the caller gives none. */
  defaultEngine(): EngineFactory<T['batch'], T['figures']>;
}
