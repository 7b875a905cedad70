import { bitsPerDim, FarmerError, makeCheckpointConfig, type ImageDataset, type tf } from '@farmer/core';
import { FARMER_KIND, farmerFromCheckpoint, type FarmerModel } from '../farmer-model.js';
import { prepareBatch, type PreparedBatch } from './batch-prep.js';
import { evaluateBpd, type BpdResult } from '../likelihood.js';
import { lossAndGrads } from './loss.js';
import { checkpointDirOf, TrainLoop, type LoopEngine, type LoopEvent, type LoopState, type LoopSummary, type TrainObjective } from './train-loop.js';
import type { EngineContext } from './worker-engine.js';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from './train-config.js';

export { checkpointDirOf } from './train-loop.js';

/** FARMER's gradient figures for one batch. */
type FarmerStep = { loss: number; logdetPerDim: number; grads: tf.Tensor[] };

/** Computes the mean loss and its gradients for a prepared batch: in-process, or across workers. */
export type GradientEngine = LoopEngine<PreparedBatch, FarmerStep>;

/** The default engine: one replica, this thread. */
export function localEngine(ctx: EngineContext): GradientEngine {
  return {
    workers: 1,
    compute: async (b) => lossAndGrads(ctx.model, b),
    dispose: () => undefined,
  };
}

/** One line of metrics.jsonl. */
export type TrainEvent =
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      loss: number;
      bpd: number;
      noise: TrainConfig['noise']['mode'];
      sigma: number;
      lr: number;
      gradNorm: number;
      logdetPerDim: number;
      imagesPerSec: number;
      elapsedSeconds: number;
      etaSeconds: number;
      workers: number;
    }
  | LoopEvent
  | ({ type: 'eval'; step: number; weights: 'ema' | 'live' } & BpdResult);

/** The training state saved in config.json's `training` field. */
type TrainingState = LoopState<TrainConfig> & { lastEval?: BpdResult & { step: number } };

export interface TrainerOptions {
  model: FarmerModel;
  config: TrainConfigInput | TrainConfig;
  train: ImageDataset;
  test?: ImageDataset;
  /** Run directory: `checkpoint/` (atomic) and `metrics.jsonl`. No files without it. */
  outDir?: string;
  onEvent?: (e: TrainEvent) => void;
  /** Abort: stop after the current step and write a checkpoint. */
  signal?: AbortSignal;
  /** Stop cleanly (with a checkpoint) on SIGINT/SIGTERM. */
  handleSignals?: boolean;
  /** Provenance stored in the checkpoint (command line, dataset spec, ...). */
  meta?: Record<string, unknown>;
  /** Gradient engine (default: this thread; see workerEngine for data parallelism). */
  engine?: (ctx: EngineContext) => Promise<GradientEngine> | GradientEngine;
}

export interface TrainSummary {
  steps: number;
  stoppedBy: 'done' | 'signal' | 'time-budget';
  finalLoss: number;
  lastEval?: BpdResult;
  checkpoint?: string;
  elapsedSeconds: number;
}

/**
 * The FARMER trainer (method doc §4): the joint likelihood objective over the
 * shared TrainLoop (AdamW with cosine LR and warm-up, clipping, EMA, a
 * non-finite guard, atomic resumable checkpoints, JSONL metrics), plus
 * training noise, label drop and periodic test bits/dim.
 */
export class Trainer {
  readonly config: TrainConfig;
  readonly model: FarmerModel;
  private readonly loop: TrainLoop<TrainConfig, PreparedBatch, FarmerStep, TrainEvent>;
  private lastEval?: BpdResult & { step: number };

  private constructor(private readonly opts: TrainerOptions) {
    this.config = parseTrainConfig(opts.config);
    this.model = opts.model;
    checkDataset(this.model, opts.train, 'training');
    if (opts.test) checkDataset(this.model, opts.test, 'test');
    const model = this.model;
    const objective: TrainObjective<PreparedBatch, FarmerStep, TrainEvent> = {
      variables: model.variables(),
      variableNames: model.variableNames(),
      parts: { optimizer: 'optimizer', ema: 'ema' },
      prepare: (batch, rng, step) => prepareBatch(batch, this.config, rng, step, model.config.numClasses),
      startEngine: (optimizer) => (opts.engine ?? localEngine)({ model, optimizer }),
      stepEvent: (info, batch, r) => ({
        type: 'step',
        step: info.step,
        totalSteps: info.totalSteps,
        loss: r.loss,
        bpd: bitsPerDim(r.loss),
        noise: this.config.noise.mode,
        sigma: batch.sigma,
        lr: info.lr,
        gradNorm: info.gradNorm,
        logdetPerDim: r.logdetPerDim,
        imagesPerSec: batch.shape[0] / info.seconds,
        elapsedSeconds: info.elapsedSeconds,
        etaSeconds: info.etaSeconds,
        workers: info.workers,
      }),
      evaluate: opts.test ? () => this.evaluate() : undefined,
      weightsToTensorMap: () => model.toTensorMap(),
      loadWeights: (map, file) => model.loadTensorMap(map, file),
      stateExtras: () => ({ lastEval: this.lastEval }),
      checkpointData: ({ state, weights, optimizer, ema }) => ({
        config: makeCheckpointConfig(FARMER_KIND, model.config as unknown as Record<string, unknown>, { training: state, meta: opts.meta }),
        tensors: { model: weights, optimizer, ...(ema ? { ema } : {}) },
      }),
    };
    this.loop = new TrainLoop<TrainConfig, PreparedBatch, FarmerStep, TrainEvent>(objective, { config: this.config, train: opts.train, outDir: opts.outDir, onEvent: opts.onEvent, signal: opts.signal, handleSignals: opts.handleSignals });
  }

  /** A new run from a freshly built (or pre-trained) model. */
  static create(opts: TrainerOptions): Trainer {
    return new Trainer(opts);
  }

  /**
   * Resumes the run in `outDir` from its checkpoint: weights, optimizer, EMA,
   * step, data order and RNG. `config` may override fields such as `steps`;
   * the model always comes from the checkpoint.
   */
  static async resume(outDir: string, opts: Omit<TrainerOptions, 'model' | 'config' | 'outDir'> & { config?: Partial<TrainConfigInput> }): Promise<Trainer> {
    const dir = checkpointDirOf(outDir);
    const ck = await TrainLoop.readRun(outDir);
    if (ck.config.kind !== FARMER_KIND) throw new FarmerError('FARMER_E_BAD_INPUT', `${dir} is a '${ck.config.kind}' checkpoint, not a FARMER training run`, { file: dir });
    const state = TrainLoop.stateOf(ck, 'optimizer', dir) as unknown as TrainingState;
    const model = farmerFromCheckpoint(ck, 'model');
    const t = new Trainer({ ...opts, model, outDir, config: { ...state.trainConfig, ...opts.config } });
    await t.loop.restore(ck, state, dir);
    t.lastEval = state.lastEval;
    return t;
  }

  get currentStep(): number {
    return this.loop.currentStep;
  }

  /** Writes the run's checkpoint atomically (no-op without outDir). */
  async checkpoint(): Promise<string | undefined> {
    return this.loop.checkpoint();
  }

  /** Test bits/dim on the EMA weights when EMA is on (those are the weights that ship). */
  async evaluate(maxImages = this.config.evalImages): Promise<BpdResult | undefined> {
    const test = this.opts.test;
    if (!test) return undefined;
    const r = await this.loop.withEvalWeights(() => evaluateBpd(this.model, test, { maxImages, seed: this.config.seed }));
    this.lastEval = { ...r, step: this.loop.currentStep };
    this.loop.emit({ type: 'eval', step: this.loop.currentStep, weights: this.loop.ema ? 'ema' : 'live', ...r });
    return r;
  }

  /** Runs until `steps`, the time budget, an abort or a signal; always ends with a checkpoint. */
  async run(): Promise<TrainSummary> {
    const s: LoopSummary = await this.loop.run();
    return { steps: s.steps, stoppedBy: s.stoppedBy, finalLoss: s.finalLoss, lastEval: this.lastEval, checkpoint: s.checkpoint, elapsedSeconds: s.elapsedSeconds };
  }

  /** Frees optimizer and EMA state (not the model, which the caller owns). */
  dispose(): void {
    this.loop.dispose();
  }
}

function checkDataset(model: FarmerModel, ds: ImageDataset, what: string): void {
  const f = model.config.flow;
  const im = ds.images;
  if (im.channels !== f.inChannels || im.height !== f.imageSize || im.width !== f.imageSize) {
    throw new FarmerError(
      'FARMER_E_BAD_INPUT',
      `the ${what} data (${ds.name}) are ${im.height}×${im.width}×${im.channels} but the model takes ${f.imageSize}×${f.imageSize}×${f.inChannels}; choose a matching preset or data`,
      { field: 'data' },
    );
  }
  if (model.config.numClasses > 0 && ds.numClasses > model.config.numClasses) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `the ${what} data have ${ds.numClasses} classes but the model has ${model.config.numClasses}`, { field: 'data' });
  }
}
