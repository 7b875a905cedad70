import { constants as bufferConstants } from 'node:buffer';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { directoryWriteProblem, encodePng, ensureDirectory, imageGrid, sliceImages, writeFileAtomic } from '@farmer/core';
import { RUNTIME_CHOICES, type RuntimeChoice } from '@farmer/runtime';
import { DEFAULT_REDRAWS, describeRedrawn, generate, type GenerateOptions, type GenerateResult } from '@farmer/sampling';
import { className, type FarmerRunner } from '@farmer/ar-gmm';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { classRows, labelledFigure } from '../figure.js';
import { choiceFlag, intFlag, intListFlag, numberFlag, pathFlag } from '../flags.js';
import { CHECKPOINT_FLAG_HELP, MODEL_FLAG_HELP, openRunner } from '../model-open.js';
import { addScaleOutFlags, runShardedSample, type ScaleOutFlags } from './sample-sharded.js';

export interface SampleFlags {
  checkpoint?: string;
  /** A built-in model by name (see MODEL_FLAG_HELP). */
  model?: string;
  count?: number;
  labels?: number[];
  perClass?: number;
  unconditional?: boolean;
  seed: number;
  sampler: GenerateOptions['sampler'];
  temperature?: number;
  scale?: number;
  redundantTemperature?: number;
  redundantScale?: number;
  cfgW?: number;
  cfgSc?: number;
  cfgSu?: number;
  cfgProposalPi?: number;
  cfgProposalSigma?: number;
  cfgEvalPi?: number;
  cfgEvalSigma?: number;
  cfgSharpen?: number;
  cfgPoolC?: number;
  cfgPoolU?: number;
  cfgSchedule?: 'constant' | 'linear';
  naiveTemperature?: number;
  naiveScale?: number;
  naiveMaxStdRatio?: number;
  decoder: 'flow' | 'student';
  batchSize?: number;
  redraws?: number;
  out: string;
  separate?: string;
  columns?: number;
  ema: boolean;
  runtime: RuntimeChoice;
  /** The most images one run may draw (`--max-count`). */
  maxCount: number;
}

/** The default per-run limit of `--count` (`--max-count` raises it; larger jobs belong to a scale-out). */
export const SAMPLE_COUNT_LIMIT = 100_000;

/**
 * Refuses a run of more than `maxCount` images (and one whose images would
 * not fit one buffer), before any model is opened or image drawn.
 */
export function checkRunSize(count: number, maxCount: number, imageBytes = 1): void {
  if (count > maxCount) {
    throw new UsageError(`${count} images is over the per-run limit of ${maxCount}; raise it with --max-count, or split the job into several runs with different --seed`);
  }
  if (count * imageBytes > bufferConstants.MAX_LENGTH) {
    throw new UsageError(`${count} images of ${imageBytes} bytes do not fit in memory at once (${bufferConstants.MAX_LENGTH} bytes at most); split the job into several runs`);
  }
}

/** Generation options from flags: one mapping shared by `sample` and `demo`. */
export function generateOptionsFromFlags(flags: SampleFlags, numClasses: number): GenerateOptions {
  let labels: number[] | null = null;
  let count = flags.count;
  const modes = [flags.labels !== undefined, flags.perClass !== undefined, Boolean(flags.unconditional)].filter(Boolean).length;
  if (modes > 1) throw new UsageError('use one of --labels, --per-class and --unconditional');
  if (flags.perClass !== undefined) {
    if (numClasses === 0) throw new UsageError('--per-class needs a class-conditional model; this one is unconditional');
    labels = Array.from({ length: numClasses * flags.perClass }, (_, i) => Math.floor(i / flags.perClass!));
    count = labels.length;
  } else if (flags.labels) {
    labels = flags.labels;
    count ??= labels.length;
    if (labels.length === 1 && count > 1) labels = Array(count).fill(labels[0]);
    if (labels.length !== count) throw new UsageError(`--labels gives ${labels.length} labels for --count ${count}`);
  }
  count ??= numClasses > 0 && !flags.unconditional ? numClasses : 16;
  checkRunSize(count, flags.maxCount);
  if (!labels && numClasses > 0 && !flags.unconditional && flags.count === undefined) labels = Array.from({ length: count }, (_, i) => i % numClasses);
  const cfg: GenerateOptions['cfg'] = {
    w: flags.cfgW,
    sc: flags.cfgSc,
    su: flags.cfgSu,
    proposal: { pi: flags.cfgProposalPi, sigma: flags.cfgProposalSigma },
    evaluation: { pi: flags.cfgEvalPi, sigma: flags.cfgEvalSigma },
    sharpen: flags.cfgSharpen,
    poolC: flags.cfgPoolC,
    poolU: flags.cfgPoolU,
    schedule: flags.cfgSchedule,
  };
  return {
    count,
    labels,
    seed: flags.seed,
    sampler: flags.sampler,
    informative: { temperature: flags.temperature, scale: flags.scale },
    redundant: { temperature: flags.redundantTemperature ?? flags.temperature, scale: flags.redundantScale ?? flags.scale },
    cfg,
    naive: { temperature: flags.naiveTemperature, scale: flags.naiveScale, maxStdRatio: flags.naiveMaxStdRatio },
    decoder: flags.decoder,
    batchSize: flags.batchSize,
    redraws: flags.redraws,
  };
}

/** Runs generate with a progress bar over tokens and phases. */
export async function generateWithProgress(ctx: CliContext, runner: FarmerRunner, options: GenerateOptions, label = 'sample'): Promise<GenerateResult> {
  const bar = ctx.progress(label, options.count, 'images');
  let r: GenerateResult;
  try {
    r = await generate(runner, {
      ...options,
      onProgress: (p) =>
        bar.update(p.imagesDone, p.phase === 'ar' ? `AR token ${p.token}/${p.tokens}` : `AF block ${p.blocksDone + 1}/${p.blocks} token ${p.token}/${p.tokens}`),
    });
  } finally {
    bar.stop();
  }
  if (r.redrawn.length) ctx.note(`note: ${describeRedrawn(r.redrawn, r.parameters.decoder)} (--redraws)`);
  return r;
}

/** The file name of image `i` (label -1: unconditional) in a `--separate` folder, in one process and sharded alike. */
export function sampleFileName(i: number, label: number): string {
  return `${String(i).padStart(4, '0')}-label${label}.png`;
}

/**
 * Writes a grid (rows of `columns`) and optionally one PNG per image; returns
 * the paths. With `perClass`, the grid has one row per class, labelled with
 * `className(y)`.
 */
export async function writeSamples(
  result: GenerateResult,
  out: string,
  options: { separate?: string; columns?: number; perClass?: { count: number; className: (y: number) => string } } = {},
): Promise<{ grid: string; files: string[] }> {
  const grid = resolve(out);
  const pc = options.perClass;
  const png = pc
    ? await labelledFigure(classRows(result.images, result.labels, pc.count, pc.className), [result.parameters.sampler])
    : encodePng(imageGrid(result.images, { columns: options.columns ?? Math.ceil(Math.sqrt(result.images.count)), padding: 2, background: 128 }));
  await writeFileAtomic(grid, png);
  const files: string[] = [];
  if (options.separate) {
    await ensureDirectory(options.separate);
    for (let i = 0; i < result.images.count; i++) {
      const f = resolve(join(options.separate, sampleFileName(i, result.labels[i])));
      await writeFileAtomic(f, encodePng(sliceImages(result.images, i, 1)));
      files.push(f);
    }
  }
  return { grid, files };
}

/**
 * Checks, before any work, that the grid PNG, its JSON sidecar and the
 * `--separate` folder can be written: a directory where a file goes, or a
 * folder that cannot be created or written, is a usage error naming the flag.
 */
export function checkSampleOutputs(flags: Pick<SampleFlags, 'out' | 'separate'>): void {
  const grid = resolve(flags.out);
  const sidecar = `${grid.replace(/\.png$/i, '')}.json`;
  const isDirectory = (path: string): boolean => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false; // missing, or under a file: the write check below says which
    }
  };
  for (const [file, what] of [[grid, 'the grid'], [sidecar, "the grid's JSON sidecar"]] as const) {
    if (isDirectory(file)) {
      throw new UsageError(`--out ${flags.out}: ${file} is a directory, where ${what} goes; give a file name, e.g. --out ${join(flags.out, 'samples.png')}`);
    }
  }
  const problem = directoryWriteProblem(dirname(grid), { create: true });
  if (problem) throw new UsageError(`cannot write --out ${flags.out} (into ${dirname(grid)}): ${problem}; choose another location`);
  const separate = flags.separate && directoryWriteProblem(resolve(flags.separate), { create: true });
  if (separate) throw new UsageError(`cannot write --separate ${flags.separate}: ${separate}; choose another directory`);
}

export async function runSample(ctx: CliContext, flags: SampleFlags): Promise<void> {
  checkSampleOutputs(flags);
  const asked = flags.count ?? flags.labels?.length;
  if (asked !== undefined) checkRunSize(asked, flags.maxCount);
  await ctx.initBackend();
  const { runner, dir, exported, fallback, close } = await openRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime });
  try {
    const options = generateOptionsFromFlags(flags, runner.config.numClasses);
    const f = runner.config.flow;
    checkRunSize(options.count, flags.maxCount, f.inChannels * f.imageSize * f.imageSize);
    const result = await generateWithProgress(ctx, runner, options);
    const columns = flags.columns ?? (flags.perClass ? flags.perClass : undefined);
    const perClass = flags.perClass && runner.config.numClasses > 0 && !flags.unconditional && flags.columns === undefined ? { count: flags.perClass, className: (y: number) => className(runner.config, y) } : undefined;
    const { grid, files } = await writeSamples(result, flags.out, { separate: flags.separate, columns, perClass });
    const sidecar = `${grid.replace(/\.png$/i, '')}.json`;
    const meta = { checkpoint: dir, grid, files, labels: Array.from(result.labels), parameters: result.parameters, timings: result.timings, redrawn: result.redrawn, runtime: result.runtime, backend: ctx.backend?.name, ...(exported ? { exported } : {}), ...(fallback ? { fallback } : {}) };
    await writeFileAtomic(sidecar, `${JSON.stringify(meta, null, 2)}\n`);
    const t = result.timings;
    ctx.result(
      `wrote ${result.images.count} samples (${result.parameters.sampler}) to ${grid}\nparameters: ${sidecar}\ntime: AR ${t.arSeconds.toFixed(2)} s, AF ${t.afSeconds.toFixed(2)} s (${(t.totalSeconds / result.images.count).toFixed(3)} s/image)`,
      { ...meta, sidecar },
    );
  } finally {
    close();
  }
}

export function addSamplerFlags(cmd: Command): Command {
  return cmd
    .option('--seed <n>', 'seed; the same seed and options give the same images', intFlag('--seed', 0), 0)
    .option('--sampler <name>', 'auto (CFG with labels, else decoupled), decoupled, resampling-cfg or naive-cfg', choiceFlag('--sampler', ['auto', 'decoupled', 'resampling-cfg', 'naive-cfg'] as const), 'auto')
    .option('--temperature <T>', 'decoupled: mixture-weight temperature of the informative head (default 1.3)', numberFlag('--temperature', { min: 0, exclusiveMin: true }))
    .option('--scale <s>', 'decoupled: σ scale of the informative head (default 0.9)', numberFlag('--scale', { min: 0, exclusiveMin: true }))
    .option('--redundant-temperature <T>', 'decoupled: temperature of the redundant head (default: --temperature)', numberFlag('--redundant-temperature', { min: 0, exclusiveMin: true }))
    .option('--redundant-scale <s>', 'decoupled: σ scale of the redundant head (default: --scale)', numberFlag('--redundant-scale', { min: 0, exclusiveMin: true }))
    .option('--cfg-w <w>', 'CFG guidance w (default 2.5)', numberFlag('--cfg-w', { min: 0 }))
    .option('--cfg-sc <n>', 'CFG candidates from the class stream (default 5)', intFlag('--cfg-sc', 1))
    .option('--cfg-su <n>', 'CFG candidates from the null stream (default 5)', intFlag('--cfg-su', 0))
    .option('--cfg-proposal-pi <T>', 'CFG proposal temperature T_π (default 1.0)', numberFlag('--cfg-proposal-pi', { min: 0, exclusiveMin: true }))
    .option('--cfg-proposal-sigma <T>', 'CFG proposal temperature T_σ (default 0.9)', numberFlag('--cfg-proposal-sigma', { min: 0, exclusiveMin: true }))
    .option('--cfg-eval-pi <T>', 'CFG evaluation temperature T_π,v (default 0.2)', numberFlag('--cfg-eval-pi', { min: 0, exclusiveMin: true }))
    .option('--cfg-eval-sigma <T>', 'CFG evaluation temperature T_σ,v (default 0.9)', numberFlag('--cfg-eval-sigma', { min: 0, exclusiveMin: true }))
    .option('--cfg-sharpen <Ts>', 'CFG sharpening Ts (default 1.1)', numberFlag('--cfg-sharpen', { min: 0, exclusiveMin: true }))
    .option('--cfg-pool-c <n>', 'CFG redundant pool from the class stream (default 64)', intFlag('--cfg-pool-c', 1))
    .option('--cfg-pool-u <n>', 'CFG redundant pool from the null stream (default 64)', intFlag('--cfg-pool-u', 0))
    .option('--cfg-schedule <kind>', 'CFG guidance over tokens: constant or linear', choiceFlag('--cfg-schedule', ['constant', 'linear'] as const))
    .option('--naive-temperature <T>', 'naive CFG: mixture-weight temperature (default 1; its w is --cfg-w)', numberFlag('--naive-temperature', { min: 0, exclusiveMin: true }))
    .option('--naive-scale <s>', 'naive CFG: σ scale (default 1)', numberFlag('--naive-scale', { min: 0, exclusiveMin: true }))
    .option('--naive-max-std-ratio <r>', 'naive CFG: widest guided σ as a multiple of σc; wider dimensions stay conditional (default 2)', numberFlag('--naive-max-std-ratio', { min: 1 }))
    .option('--decoder <name>', 'AF inverse: flow (exact) or student (distilled, one pass)', choiceFlag('--decoder', ['flow', 'student'] as const), 'flow')
    .option('--batch-size <n>', 'images per pass (default 16)', intFlag('--batch-size', 1))
    .option('--redraws <n>', `fresh draws of an image whose latents the decoder cannot invert (non-finite), before stopping with an error; 0: stop at the first (default ${DEFAULT_REDRAWS})`, intFlag('--redraws', 0))
    .option('--no-ema', 'use the raw weights instead of the EMA weights (runs on tfjs)')
    .option('--runtime <name>', 'auto (onnxruntime whenever it loads, exporting the checkpoint on first use; else tfjs), onnx (an existing export only) or tfjs', choiceFlag('--runtime', RUNTIME_CHOICES), 'auto')
    .option('--max-count <n>', `most images one run may draw (default ${SAMPLE_COUNT_LIMIT.toLocaleString('en-US')})`, intFlag('--max-count', 1), SAMPLE_COUNT_LIMIT);
}

export function sampleCommand(ctx: () => CliContext): Command {
  const cmd = new Command('sample')
    .description('draw images from a checkpoint (default: the built-in model) into a grid PNG plus a JSON sidecar')
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--checkpoint <dir>', CHECKPOINT_FLAG_HELP, pathFlag('--checkpoint'))
    .option('--count <n>', `number of images (default: one per class; at most --max-count, ${SAMPLE_COUNT_LIMIT.toLocaleString('en-US')} unless raised)`, intFlag('--count', 1))
    .option('--labels <list>', 'class labels, comma-separated (one per image, or one for all)', intListFlag('--labels'))
    .option('--per-class <n>', 'n images of every class, one row per class', intFlag('--per-class', 1))
    .option('--unconditional', 'draw without class labels')
    .option('--out <file>', 'grid PNG', pathFlag('--out'), 'samples.png')
    .option('--separate <dir>', 'also write one PNG per image into this directory', pathFlag('--separate'))
    .option('--columns <n>', 'grid columns', intFlag('--columns', 1));
  return addScaleOutFlags(addSamplerFlags(cmd))
    .addHelpText(
      'after',
      `
Examples:
  farmer sample --per-class 4 --out digits.png
  farmer sample --checkpoint runs/small --labels 3,3,7,7 --cfg-w 1.5 --seed 7
  farmer sample --unconditional --count 16 --temperature 1.3 --scale 0.9 --separate out/
  farmer sample --redis redis://127.0.0.1:6379 --count 50000 --separate out/   # on farmer worker processes`,
    )
    .action(async (flags: SampleFlags & ScaleOutFlags) => (flags.redis ? runShardedSample(ctx(), flags) : runSample(ctx(), flags)));
}
