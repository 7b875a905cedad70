/**
 * @farmer/train: training runs for any objective (FARMER's joint likelihood,
 * the distillation of the AF inverse): the run (new or resumed, evaluation,
 * checkpoints, signals, metrics), the engine seam, the in-process and
 * data-parallel tfjs engines, data-parallel host gradients (onnxruntime), AdamW, EMA, the LR schedule and clipping.
 */
export {
  paramSizes,
  type AdamWOptions,
  type EmaState,
  type EngineContext,
  type EngineFactory,
  type EngineState,
  type OptimizerState,
  type ParamSpec,
  type StepGradients,
  type StepUpdate,
  type TrainEngine,
} from './engine.js';
export { loopConfigFields, type LoopSettings } from './loop-config.js';
export type { DataFit, Figures, Objective, ObjectiveTypes, ReplicaModule, ReplicaSource, Sharding, TfBinding } from './objective.js';
export {
  TrainingRun,
  type EvalEvent,
  type LoopEvent,
  type RunEvent,
  type RunState,
  type RunSummary,
  type StepInfo,
  type TrainingRunOptions,
} from './training-run.js';
export { ObjectiveRun, type RunOptions } from './objective-run.js';
export { checkpointDirOf, holdsRun, prepareOutDir, runExists } from './out-dir.js';
export { MetricsLog } from './metrics-log.js';
export { optimizerFromTensorMap, optimizerToTensorMap } from './optimizer-part.js';
export { cosineLr } from './schedule.js';
export { stepsForBudget } from './step-budget.js';
export { AdamW } from './adamw.js';
export { Ema, emaDecayAt } from './ema.js';
export { globalNorm } from './grad-norm.js';
export { weightedMean, type AllReduce, type NamedArrays } from './all-reduce.js';
export { TfEngine, tfEngine, TfTrainState } from './tf-engine.js';
export { HostEngine, hostEngine, type HostGradient } from './host-engine.js';
export { adamwUpdate, emaUpdate, hostGlobalNorm } from './host-optimizer.js';
export { ParallelHostGradient, type HostReplicaModule, type ParallelHostOptions, type ParallelTiming } from './parallel-host-gradient.js';
export { batchShards, shardSizes } from './shards.js';
export { defaultWorkerCount, WorkerEngine, workerEngine, type DataParallel, type WorkerEngineOptions } from './worker-engine.js';
