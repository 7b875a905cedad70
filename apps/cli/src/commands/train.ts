import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { DATASET_SPEC_HELP, FarmerError, loadDataset, validate, type Background, type LoadDatasetOptions } from '@farmer/core';
import { FarmerConfigSchema, modelImageOptions, parseFarmerConfig, PRESET_NAMES, train, type TrainConfigInput, type TrainEvent } from '@farmer/ar-gmm';
import { farmerEngineFor, type TrainEngineChoice } from '@farmer/onnx';
import { checkpointDirOf } from '@farmer/train';
import { z } from 'zod';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { backgroundFlag, choiceFlag, forceRunOption, intFlag, nameListFlag, numberFlag, pathFlag } from '../flags.js';
import { engineLayout, engineNote, engineOption, threadsOption, workersOption } from '../engine-flags.js';
import { runConfigOf } from '../run-config.js';
import { loopSettingsOf, type LoopFlags } from '../loop-flags.js';
import { writeLossPlot } from '../plot.js';
import { formatSeconds } from '../progress.js';

/** A training config file: a model (preset name or full config) and training settings. */
const TrainFileSchema = z
  .object({
    model: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    train: z.record(z.string(), z.unknown()).optional(),
    data: z.string().optional(),
  })
  .strict();

export interface TrainFlags extends LoopFlags {
  preset?: string;
  config?: string;
  data?: string;
  epochs?: number;
  noise?: 'uniform' | 'gaussian';
  sigmaStart?: number;
  sigmaEnd?: number;
  labelDrop?: number;
  hflip?: boolean;
  workers?: number | 'auto';
  threads?: number;
  engine: TrainEngineChoice;
  out: string;
  resume?: boolean;
  force?: boolean;
  imageSize?: number;
  channels?: number;
  background?: Background;
  classNames?: string[];
}

/** Builds the trainer's settings from the file and the flags (flags win). */
export function trainSettings(flags: TrainFlags, fileTrain: Record<string, unknown>, trainImages: number): TrainConfigInput {
  if (flags.steps !== undefined && flags.epochs !== undefined) throw new UsageError('give --steps or --epochs, not both');
  const t: Record<string, unknown> = { ...fileTrain, ...loopSettingsOf(flags) };
  if (flags.labelDrop !== undefined) t.labelDrop = flags.labelDrop;
  if (flags.hflip !== undefined) t.hflip = flags.hflip;
  if (flags.noise === 'uniform') t.noise = { mode: 'uniform' };
  else if (flags.noise === 'gaussian' || flags.sigmaStart !== undefined || flags.sigmaEnd !== undefined) {
    t.noise = { mode: 'gaussian', sigmaStart: flags.sigmaStart ?? 0.1, sigmaEnd: flags.sigmaEnd ?? 0.005 };
  }
  const bs = (t.batchSize as number | undefined) ?? 64;
  if (flags.epochs !== undefined) t.steps = Math.max(1, Math.round((flags.epochs * trainImages) / bs));
  if (t.steps === undefined) t.steps = 2000;
  return t as TrainConfigInput;
}

/** The data spec a run was trained on (its checkpoint's meta.data), or undefined when it has none. */
function runDataOf(outDir: string): string | undefined {
  const data = runConfigOf(outDir)?.meta?.data;
  return typeof data === 'string' ? data : undefined;
}

/**
 * How folder: data is loaded: --image-size, --channels and --background,
 * else a resumed run's own (its model's side, channels and background:
 * docs/method.md §2.6 Transparency), else the loader's defaults (32, 3, black).
 */
function dataOptions(flags: TrainFlags, outDir: string, dataSpec: string): Pick<LoadDatasetOptions, 'imageSize' | 'channels' | 'background'> {
  if (flags.background && !dataSpec.startsWith('folder:')) {
    throw new UsageError(`--background is for folder: data (the colour its images' transparent pixels are composited on); ${dataSpec} brings its own`);
  }
  const given = { imageSize: flags.imageSize, channels: flags.channels as 1 | 3 | undefined, background: flags.background };
  const recorded = flags.resume ? runConfigOf(outDir)?.model : undefined;
  if (recorded === undefined) return given;
  const own = modelImageOptions(parseFarmerConfig(recorded, `${checkpointDirOf(outDir)}/config.json model`));
  return { imageSize: given.imageSize ?? own.imageSize, channels: given.channels ?? own.channels, background: given.background ?? own.background };
}

/** `farmer train`: maps flags (and a config file) onto the library's `train()`. */
export async function runTrain(ctx: CliContext, flags: TrainFlags): Promise<void> {
  if (flags.resume && flags.force) throw new UsageError('give --resume (continue the run in --out) or --force (start a new one over it), not both');
  let file: z.infer<typeof TrainFileSchema> = {};
  if (flags.config) {
    if (!existsSync(flags.config)) throw new FarmerError('FARMER_E_NOT_FOUND', `config file ${flags.config} does not exist`, { file: flags.config });
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(flags.config, 'utf8'));
    } catch (e) {
      throw new FarmerError('FARMER_E_BAD_CONFIG', `${flags.config} is not valid JSON: ${(e as Error).message}`, { file: flags.config });
    }
    file = validate(raw, flags.config, TrainFileSchema, 'FARMER_E_BAD_CONFIG');
  }
  await ctx.initBackend();
  const outDir = resolve(flags.out);
  // --data, else a resumed run's own data, else the config file's, else the built-in digits.
  const dataSpec = flags.data ?? (flags.resume ? runDataOf(outDir) : undefined) ?? file.data ?? 'mnist';
  const dataOpts = dataOptions(flags, outDir, dataSpec);
  const trainData = await loadDataset(dataSpec, { ...dataOpts, split: 'train' });
  const test = await loadDataset(dataSpec, { ...dataOpts, split: 'test' });
  const settings = trainSettings(flags, file.train ?? {}, trainData.images.count);
  const bar = ctx.progress('train', 0, 'steps');
  let lastStep: Extract<TrainEvent, { type: 'step' }> | undefined;
  const onEvent = (e: TrainEvent) => {
    if (e.type === 'step') {
      lastStep = e;
      bar.setTotal(e.totalSteps);
      bar.update(e.step, `loss ${e.loss.toFixed(3)} bpd ${e.bpd.toFixed(3)} ${e.imagesPerSec.toFixed(1)} img/s`, e.etaSeconds);
    } else if (e.type === 'eval') ctx.note(`\nstep ${e.step}: test ${e.bpd.toFixed(4)} ± ${e.stderr.toFixed(4)} bits/dim (${e.images} images, uniform dequantisation, ${e.weights} weights)`);
    else if (e.type === 'skip') ctx.note(`\nstep ${e.step}: skipped a non-finite step (${e.reason}; ${e.inARow} in a row)`);
  };
  // A resumed run keeps its model and settings; of the flags, only the run's length and bookkeeping apply.
  const config: Partial<TrainConfigInput> = flags.resume ? resumeOverrides(flags, settings) : settings;
  const summary = await train({
    outDir,
    resume: flags.resume,
    force: flags.force,
    // A model config in the file is validated here, so that errors name the file.
    model: flags.preset ?? (typeof file.model === 'object' ? validate(file.model, `${flags.config} model`, FarmerConfigSchema, 'FARMER_E_BAD_CONFIG') : file.model),
    config,
    classNames: flags.classNames,
    train: trainData,
    test,
    engine: farmerEngineFor(flags.engine, {
      ...engineLayout(ctx, flags, outDir),
      onChosen: (e) => {
        if (e.notice) ctx.note(`note: ${e.notice}`);
        ctx.note(engineNote(e));
      },
    }),
    onEvent,
    handleSignals: true,
    meta: { command: process.argv.slice(1).join(' '), data: dataSpec },
    onStart: (info) => {
      if (info.resumed) {
        if (flags.preset || flags.config) ctx.note('note: --resume takes the model and settings from the checkpoint; --preset/--config are ignored');
        ctx.note(`resuming ${checkpointDirOf(outDir)} at step ${info.step} on ${dataSpec}`);
      } else {
        const p = info.params;
        const c = info.config;
        ctx.note(
          `training ${(p.total / 1e6).toFixed(2)}M parameters (AF ${(p.flow / 1e6).toFixed(2)}M, AR ${(p.ar / 1e6).toFixed(2)}M) on ${dataSpec} (${trainData.images.count} images${info.model.background ? `, transparency on rgb(${info.model.background.join(', ')})` : ''}), ${c.steps} steps of ${c.batchSize}, ${c.noise.mode} noise → ${outDir}`,
        );
      }
    },
  });
  bar.stop();
  const plot = await writeLossPlot(summary.metrics, join(outDir, 'loss.png')).catch(() => undefined);
  const how = summary.stoppedBy === 'signal' ? 'interrupted; checkpoint written (resume with --resume)' : summary.stoppedBy === 'time-budget' ? 'time budget reached' : 'done';
  const ev = summary.lastEval;
  ctx.result(
    [
      `${how} at step ${summary.steps} after ${formatSeconds(summary.elapsedSeconds)}`,
      lastStep ? `last training loss ${lastStep.loss.toFixed(4)} nats/dim (${lastStep.bpd.toFixed(4)} bits/dim, ${lastStep.noise} noise)` : '',
      ev ? `test bits/dim ${ev.bpd.toFixed(4)} ± ${ev.stderr.toFixed(4)} (${ev.images} images, uniform dequantisation)` : '',
      `checkpoint: ${summary.checkpoint}`,
      `metrics:    ${summary.metrics}`,
      plot ? `loss curve: ${plot}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
    { ...summary, lossPlot: plot },
  );
}

/** The flags a resumed run honours (see RESUME_OVERRIDES). */
function resumeOverrides(flags: TrainFlags, settings: TrainConfigInput): Partial<TrainConfigInput> {
  const o: Partial<TrainConfigInput> = {};
  if (flags.steps !== undefined || flags.epochs !== undefined) o.steps = settings.steps;
  if (flags.timeBudget !== undefined) o.timeBudgetSeconds = settings.timeBudgetSeconds;
  if (flags.evalEvery !== undefined) o.evalEvery = flags.evalEvery;
  if (flags.evalImages !== undefined) o.evalImages = flags.evalImages;
  if (flags.checkpointEvery !== undefined) o.checkpointEvery = flags.checkpointEvery;
  return o;
}

export function trainCommand(ctx: () => CliContext): Command {
  return new Command('train')
    .description('train a FARMER model (or resume a run) on a dataset')
    .option('--preset <name>', `model preset: ${PRESET_NAMES.join(', ')} (default mnist-small)`)
    .option('--config <file>', 'JSON file: { "model": preset name or config, "train": {...}, "data": spec }; flags override it', pathFlag('--config'))
    .option('--data <spec>', `training data: ${DATASET_SPEC_HELP} (default: a resumed run's own data, else the config file's "data", else mnist)`)
    .option('--steps <n>', 'optimizer steps (default 2000)', intFlag('--steps', 1))
    .option('--epochs <n>', 'epochs instead of --steps', numberFlag('--epochs', { min: 0, exclusiveMin: true }))
    .option('--batch-size <n>', 'global batch size (default 64)', intFlag('--batch-size', 1))
    .option('--lr <x>', 'peak learning rate (default 1e-3)', numberFlag('--lr', { min: 0, exclusiveMin: true }))
    .option('--min-lr <x>', 'final learning rate of the cosine schedule', numberFlag('--min-lr', { min: 0 }))
    .option('--warmup <n>', 'linear warm-up steps', intFlag('--warmup', 0))
    .option('--noise <mode>', 'training noise: uniform (dequantisation; exact bits/dim) or gaussian (cosine σ)', choiceFlag('--noise', ['uniform', 'gaussian'] as const))
    .option('--sigma-start <x>', 'gaussian noise σ at the start (default 0.1)', numberFlag('--sigma-start', { min: 0 }))
    .option('--sigma-end <x>', 'gaussian noise σ at the end (default 0.005)', numberFlag('--sigma-end', { min: 0 }))
    .option('--grad-clip <x>', 'clip the global gradient norm (default 1)', numberFlag('--grad-clip', { min: 0, exclusiveMin: true }))
    .option('--no-grad-clip', 'disable gradient clipping')
    .option('--ema <decay>', 'EMA decay of the weights (default 0.999)', numberFlag('--ema', { min: 0, max: 1 }))
    .option('--no-ema', 'disable the EMA weights')
    .option('--label-drop <p>', 'probability of replacing a label by the null label (default 0.1)', numberFlag('--label-drop', { min: 0, max: 1 }))
    .option('--hflip', 'mirror each training image left–right with probability ½ (augmentation for symmetric data such as emoji; off by default)')
    .option('--seed <n>', 'seed of data order, noise and initialisation', intFlag('--seed', 0))
    .addOption(engineOption())
    .addOption(workersOption())
    .addOption(threadsOption())
    .option('--eval-every <n>', 'test bits/dim every N steps (0: only at the end)', intFlag('--eval-every', 0))
    .option('--eval-images <n>', 'test images per evaluation (0: all)', intFlag('--eval-images', 0))
    .option('--checkpoint-every <n>', 'checkpoint every N steps (0: only at the end and on Ctrl-C)', intFlag('--checkpoint-every', 0))
    .option('--time-budget <minutes>', 'stop after this many minutes of training (checkpoint written)', numberFlag('--time-budget', { min: 0, exclusiveMin: true }))
    .option('--class-names <list>', 'comma-separated class names in label order, stored in the model config (default: the data\'s: Fashion-MNIST\'s for a *fashion* idx: folder, else the label numbers)', nameListFlag('--class-names'))
    .option('--image-size <n>', "for folder: data, the side to resize to (default 32; a resumed run's own)", intFlag('--image-size', 1))
    .option('--channels <n>', "for folder: data, 1 or 3 channels (default 3; a resumed run's own)", intFlag('--channels', 1, 3))
    .option(
      '--background <colour>',
      "for folder: data, the colour transparent pixels are composited on: black, white or #rrggbb (default black; a resumed run's own). Recorded in the model, which composites every image it is given (classify, eval, serve, the playground) on it",
      backgroundFlag('--background'),
    )
    .requiredOption('--out <dir>', 'run directory (checkpoint/, metrics.jsonl, loss.png)', pathFlag('--out'))
    .option('--resume', 'continue the run in --out from its checkpoint')
    .addOption(forceRunOption())
    .addHelpText(
      'after',
      `
Examples:
  farmer train --preset mnist-tiny --steps 200 --out runs/tiny
  farmer train --preset mnist-small --noise gaussian --time-budget 30 --out runs/small
  farmer train --preset mnist-small --engine tfjs --workers 2 --out runs/small-tfjs
  farmer train --out runs/small --resume --steps 8000
  farmer train --preset fashion-small --data idx:/usr/share/datasets/fashion-mnist --engine ort --out runs/fashion
  farmer train --preset cifar-small --data folder:./icons --background white --out runs/icons

Ctrl-C writes a checkpoint and exits; --resume continues the same run exactly.`,
    )
    .action(async (flags: TrainFlags) => runTrain(ctx(), flags));
}
