import { bitsPerDim, FarmerError, makeCheckpointConfig, type ImageDataset } from '@farmer/core';
import { ObjectiveRun, TrainingRun, type Objective, type ObjectiveTypes, type RunEvent, type RunOptions, type RunSummary } from '@farmer/train';
import { FARMER_KIND, farmerFromCheckpoint, type FarmerModel } from '../farmer-model.js';
import { evaluateBpd, type BpdResult } from '../likelihood.js';
import { prepareBatch, type PreparedBatch } from './batch-prep.js';
import { farmerTfEngine, type FarmerEngine, type FarmerFigures } from './farmer-engine.js';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from './train-config.js';

/** FARMER's objective id in a run's state. */
export const FARMER_OBJECTIVE = 'farmer';

/** The types of FARMER's objective. */
export interface FarmerTypes extends ObjectiveTypes {
  config: TrainConfig;
  batch: PreparedBatch;
  figures: FarmerFigures;
  step: { bpd: number; noise: TrainConfig['noise']['mode']; sigma: number; logdetPerDim: number };
  eval: BpdResult;
}

/** One line of metrics.jsonl. */
export type TrainEvent = RunEvent<FarmerTypes>;
/** How a FARMER training run ended: steps, why it stopped, final loss, the last evaluation's bits/dim, the checkpoint and the engine. */
export type TrainSummary = RunSummary<BpdResult>;

/**
 * FARMER's joint likelihood (docs/method.md §5.1 joint loss) as a training objective: the
 * model's weights, training noise and label drop, test bits/dim as its
 * evaluation, and a FARMER checkpoint (`model`, `optimizer`, `ema`).
 */
export function farmerObjective(model: FarmerModel, config: TrainConfig, meta?: Record<string, unknown>): Objective<FarmerTypes> {
  const vars = model.variables();
  const f = model.config.flow;
  return {
    id: FARMER_OBJECTIVE,
    config,
    params: model.variableNames().map((name, i) => ({ name, shape: vars[i].shape })),
    parts: { weights: 'model', optimizer: 'optimizer', ema: 'ema' },
    dataFit: { channels: f.inChannels, size: f.imageSize, numClasses: model.config.numClasses, subject: 'model', hint: 'choose a matching preset or data' },
    prepare: (batch, rng, step) => prepareBatch(batch, config, rng, step, model.config.numClasses),
    batchSize: (b) => b.shape[0],
    stepFields: (b, figures, loss) => ({ bpd: bitsPerDim(loss), noise: config.noise.mode, sigma: b.sigma, logdetPerDim: figures.logdetPerDim }),
    values: () => model.variableValues(),
    load: (values) => model.loadValues(values),
    toTensorMap: (values) => model.valuesToTensorMap(values),
    fromTensorMap: (map, file) => model.valuesFromTensorMap(map, file),
    evaluate: (test, o) => evaluateBpd(model, test, { maxImages: o.maxImages, seed: o.seed }),
    checkpoint: (training) => ({ config: makeCheckpointConfig(FARMER_KIND, model.config as unknown as Record<string, unknown>, { training, meta }) }),
    defaultEngine: () => farmerTfEngine()(model),
  };
}

/** Options of {@link Trainer}: the model, its training config, the engine and the run options of @farmer/train. */
export interface TrainerOptions extends RunOptions<FarmerTypes> {
  model: FarmerModel;
  config: TrainConfigInput | TrainConfig;
  /** How gradients are computed (default: tfjs on this thread; see farmerTfEngine for workers, @farmer/onnx for onnxruntime). */
  engine?: FarmerEngine;
}

/**
 * The FARMER trainer: FARMER's objective on a TrainingRun of @farmer/train
 * (AdamW with cosine LR and warm-up, clipping, EMA, a non-finite guard,
 * atomic resumable checkpoints, JSONL metrics), with periodic test
 * bits/dim on the weights that ship.
 */
export class Trainer extends ObjectiveRun<FarmerTypes> {
  private constructor(
    readonly model: FarmerModel,
    runner: TrainingRun<FarmerTypes>,
  ) {
    super(runner);
  }

  /** A new run from a freshly built (or pre-trained) model. */
  static create(opts: TrainerOptions): Trainer {
    const objective = farmerObjective(opts.model, parseTrainConfig(opts.config), opts.meta);
    return new Trainer(opts.model, TrainingRun.create(objective, { ...opts, engine: opts.engine?.(opts.model) }));
  }

  /**
   * Resumes the run in `outDir` from its checkpoint: weights, optimizer, EMA,
   * step, data order and RNG. `config` may override fields such as `steps`;
   * the model always comes from the checkpoint (the caller disposes `model`).
   */
  static async resume(outDir: string, opts: Omit<TrainerOptions, 'model' | 'config' | 'outDir'> & { config?: Partial<TrainConfigInput> }): Promise<Trainer> {
    let model: FarmerModel | undefined;
    const run = await TrainingRun.resume<FarmerTypes>(
      outDir,
      (ck, state) => {
        if (ck.config.kind !== FARMER_KIND || (state.objective ?? FARMER_OBJECTIVE) !== FARMER_OBJECTIVE) {
          throw new FarmerError('FARMER_E_BAD_INPUT', `${ck.dir} is a '${ck.config.kind}' ${state.objective ?? ''} checkpoint, not a FARMER training run`, { file: ck.dir });
        }
        model = farmerFromCheckpoint(ck, 'model');
        return farmerObjective(model, parseTrainConfig({ ...state.trainConfig, ...opts.config }), opts.meta);
      },
      // The model exists only once the checkpoint is read; the engine is started later, by run().
      { ...opts, engine: opts.engine && ((ctx) => opts.engine!(model!)(ctx)) },
    ).catch((e) => {
      model?.dispose();
      throw e;
    });
    return new Trainer(model!, run);
  }

  /** Nothing to free between runs (the engine is freed when a run ends); the caller owns the model. */
  dispose(): void {}
}
