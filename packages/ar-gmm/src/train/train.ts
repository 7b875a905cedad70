import { join } from 'node:path';
import { backgroundOf, BLACK_BACKGROUND, FarmerError, sameBackground, type ImageDataset } from '@farmer/core';
import { parseFarmerConfig, type FarmerConfig, type FarmerConfigInput } from '../config.js';
import { FarmerModel } from '../farmer-model.js';
import { modelBackground } from '../model-image.js';
import { preset } from '../presets.js';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from './train-config.js';
import { Trainer, type TrainerOptions, type TrainSummary } from './trainer.js';

/** The settings a resumed run may change: its length and bookkeeping. Everything else is the run's own. */
export const RESUME_OVERRIDES = ['steps', 'timeBudgetSeconds', 'evalEvery', 'evalImages', 'checkpointEvery'] as const;

/** Options of {@link train}: the run directory, the model (a preset or config) and its training config, data and callbacks. */
export interface TrainRunOptions extends Omit<TrainerOptions, 'model' | 'config' | 'outDir'> {
  /** Run directory: `checkpoint/` (atomic) and `metrics.jsonl`. */
  outDir: string;
  /** Continue the run in `outDir` (model, settings and state from its checkpoint). */
  resume?: boolean;
  /** The model of a new run: a preset name or a full config (default: the mnist-small preset). */
  model?: string | FarmerConfigInput;
  /** Settings of a new run; on resume only the RESUME_OVERRIDES among them apply. */
  config?: TrainConfigInput | Partial<TrainConfigInput>;
  /**
   * Names of the model's classes, stored in its config. Default: the
   * training set's names when they fit the model's class count, else the
   * model config's own (a preset's).
   */
  classNames?: string[];
  /** Called once the run is set up, before its first step. */
  onStart?: (info: TrainStartInfo) => void;
}

/** What a run starts from, passed to `onStart`: new or resumed, the step, configs and parameter counts. */
export interface TrainStartInfo {
  resumed: boolean;
  /** The step the run starts from. */
  step: number;
  model: FarmerConfig;
  config: TrainConfig;
  params: { flow: number; ar: number; total: number };
  /** Settings given for a resumed run that it keeps from its checkpoint instead. */
  ignored: string[];
}

/** What {@link train} returns: the run's summary plus where it wrote. */
export interface TrainRunResult extends TrainSummary {
  outDir: string;
  /** metrics.jsonl of the run. */
  metrics: string;
}

/**
 * `farmer train` as a library call: starts (or resumes) a FARMER training
 * run in `outDir`, runs it to the end, a time budget, an abort or a signal
 * (always leaving a checkpoint), and frees the model.
 */
export async function train(o: TrainRunOptions): Promise<TrainRunResult> {
  const { outDir, resume, model: _, config: __, classNames: ___, onStart, ...common } = o;
  let trainer: Trainer;
  let ignored: string[] = [];
  if (resume) {
    const given = o.config ?? {};
    const overrides = Object.fromEntries(Object.entries(given).filter(([k]) => (RESUME_OVERRIDES as readonly string[]).includes(k)));
    ignored = Object.keys(given).filter((k) => !Object.hasOwn(overrides, k));
    if (o.model !== undefined) ignored.push('model');
    trainer = await Trainer.resume(outDir, { ...common, config: overrides });
  } else {
    const config = parseTrainConfig(o.config ?? {});
    const modelConfig = withDataBackground(withClassNames(typeof o.model === 'string' ? preset(o.model) : o.model ? parseFarmerConfig(o.model) : preset('mnist-small'), o), o.train);
    checkDataBackground(modelConfig, o);
    const model = FarmerModel.create(modelConfig, config.seed);
    try {
      trainer = Trainer.create({ ...common, model, config, outDir });
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  try {
    // A resumed model keeps its background; data composited on another would be other pixels.
    if (resume) checkDataBackground(trainer.model.config, o);
    onStart?.({ resumed: !!resume, step: trainer.currentStep, model: trainer.model.config, config: trainer.config, params: FarmerModel.countParams(trainer.model.config), ignored });
    const summary = await trainer.run();
    return { ...summary, outDir, metrics: join(outDir, 'metrics.jsonl') };
  } finally {
    trainer.dispose();
    trainer.model.dispose();
  }
}

/** The model config with the run's class names (see TrainRunOptions.classNames). */
function withClassNames(model: FarmerConfig, o: Pick<TrainRunOptions, 'classNames' | 'train'>): FarmerConfig {
  if (o.classNames) {
    if (o.classNames.length !== model.numClasses) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `${o.classNames.length} class names given for a model of ${model.numClasses} classes; give one name per class`, { field: 'classNames' });
    }
    return parseFarmerConfig({ ...model, classNames: o.classNames }, 'class names');
  }
  const fromData = o.train.classNames;
  if (model.numClasses > 0 && fromData.length === model.numClasses) return { ...model, classNames: [...fromData] };
  return model;
}

/**
 * The model config recording the training set's background
 * (docs/method.md §2.6 Transparency), as class names are recorded: the data's
 * wins over the config's, since the model learns the pixels the data has. A
 * black background is left out, so the configs of models of grey or opaque
 * data are byte for byte what they were before backgrounds existed.
 */
function withDataBackground(model: FarmerConfig, train: ImageDataset): FarmerConfig {
  const { background: _, ...rest } = model;
  const bg = backgroundOf(train);
  return sameBackground(bg, BLACK_BACKGROUND) ? rest : { ...rest, background: [bg[0], bg[1], bg[2]] };
}

/** Refuses train or test data composited on another background than the model's (a resumed run's, or a test set unlike the training set). */
function checkDataBackground(model: FarmerConfig, o: Pick<TrainRunOptions, 'train' | 'test'>): void {
  const want = modelBackground(model);
  for (const data of [o.train, o.test]) {
    if (!data || sameBackground(backgroundOf(data), want)) continue;
    throw new FarmerError(
      'FARMER_E_BAD_INPUT',
      `${data.name} (${data.split}) is composited on background rgb(${backgroundOf(data).join(', ')}), but the model in this run was trained on rgb(${want.join(', ')}); load the data on the model's background (farmer train --resume does so for folder: data unless --background says otherwise)`,
      { field: 'background' },
    );
  }
}
