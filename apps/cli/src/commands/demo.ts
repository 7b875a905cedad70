import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { directoryWriteProblem, gatherExamples, loadDataset, writeFileAtomic } from '@farmer/core';
import { BUILTIN_MODEL, BUILTIN_MODEL_INFO, classifierDirOf } from '@farmer/models';
import { classifierAgreement, loadClassifier } from '@farmer/eval';
import { className, evaluateBpd, FarmerModel, modelImageOptions, preset, Trainer, type FarmerConfig, type FarmerEngine, type FarmerLikelihood, type FarmerRunner } from '@farmer/ar-gmm';
import { chooseFarmerEngine, type TrainEngineChoice } from '@farmer/onnx';
import { RUNTIME_CHOICES, type RuntimeChoice } from '@farmer/runtime';
import { holdsRun, prepareOutDir, runExists, stepsForBudget } from '@farmer/train';
import type { GenerateOptionsInput, GenerateResult } from '@farmer/sampling';
import type { CliContext } from '../context.js';
import { engineNote, engineOption, threadsOption, workersOption } from '../engine-flags.js';
import { classRows, labelledFigure, type FigureRow } from '../figure.js';
import { choiceFlag, forceRunOption, intFlag, numberFlag, pathFlag } from '../flags.js';
import { modelDataSpec, MODEL_FLAG_HELP, openRunner } from '../model-open.js';
import { UsageError } from '../errors.js';
import { writeLossPlot } from '../plot.js';
import { formatSeconds } from '../progress.js';
import { generateOptionFlag, generateOptionsOfFlags, generateWithProgress } from '../sampling/index.js';

export interface DemoFlags {
  /** A built-in model by name (default mnist-small). */
  model?: string;
  train?: number;
  out: string;
  perClass: number;
  seed: number;
  evalImages: number;
  workers?: number | 'auto';
  threads?: number;
  engine: TrainEngineChoice;
  runtime: RuntimeChoice;
  /** With --train: start over where --out/demo-run holds an earlier demo's run. */
  force?: boolean;
}

/** The generate options demo takes from its flags: the decoder and its settings (docs/method.md §3.13 Jacobi decoding). */
const DEMO_DECODING = ['decoder', 'jacobi.tolerance', 'jacobi.maxIterations', 'jacobi.modules'] as const;

/** The decoder and Jacobi settings of the flags, for every generate call of the demo. */
function decodingOf(flags: DemoFlags): { decoder?: GenerateOptionsInput['decoder']; jacobi?: GenerateOptionsInput['jacobi'] } {
  const o = generateOptionsOfFlags(flags as unknown as Record<string, unknown>);
  return { decoder: o.decoder, jacobi: o.jacobi };
}

/** Test bits/dim of an opened model's likelihood. */
async function testBpd(ctx: CliContext, lik: FarmerLikelihood, test: Awaited<ReturnType<typeof loadDataset>>, maxImages: number) {
  const bar = ctx.progress('test bits/dim', maxImages || test.images.count, 'images');
  try {
    return await evaluateBpd(lik, test, { maxImages, onProgress: (d) => bar.update(d) });
  } finally {
    bar.stop();
  }
}

/** One row per class of `perClass` images each, labelled with the class names of the model's config. */
function rowsOf(r: GenerateResult, config: FarmerConfig, perClass: number): FigureRow[] {
  return classRows(r.images, r.labels, perClass, (y) => className(config, y));
}

async function classGrid(ctx: CliContext, runner: FarmerRunner, flags: DemoFlags, label: string): Promise<GenerateResult> {
  const k = runner.config.numClasses;
  const labels = Array.from({ length: k * flags.perClass }, (_, i) => Math.floor(i / flags.perClass));
  return generateWithProgress(ctx, runner, { count: labels.length, labels, seed: flags.seed, sampler: 'resampling-cfg', ...decodingOf(flags) }, label);
}

/** Seconds of each of the first CALIBRATION_STEPS training steps of a fresh mnist-small on this engine. */
async function calibrate(train: Awaited<ReturnType<typeof loadDataset>>, batchSize: number, engine: FarmerEngine): Promise<number[]> {
  const model = FarmerModel.create(preset('mnist-small'), 0);
  const times: number[] = [];
  const t = Trainer.create({ model, train, config: { steps: CALIBRATION_STEPS, batchSize, evalEvery: 0, checkpointEvery: 0 }, engine, onEvent: (e) => e.type === 'step' && times.push(batchSize / e.imagesPerSec) });
  await t.run();
  t.dispose();
  model.dispose();
  return times;
}

/** Timed steps before a demo run: 3 start-up steps that stepsForBudget drops, then 9 steady ones. */
const CALIBRATION_STEPS = 12;

/** Samples per class of the fresh model's agreement check: the count `farmer eval agreement --per-class 20` draws. */
const AGREEMENT_PER_CLASS = 20;

/**
 * Classifier agreement of a model's resampling-CFG samples, 20 per class, scored by the
 * built-in model's own classifier (as `farmer eval agreement --classifier classifier-mnist
 * --per-class 20` scores them); undefined, with a note, when the classifier is not installed.
 */
async function demoAgreement(ctx: CliContext, runner: FarmerRunner, seed: number, decoding: ReturnType<typeof decodingOf>): Promise<{ agreement: number; samples: number; classifier: string } | undefined> {
  const classifier = BUILTIN_MODEL_INFO[BUILTIN_MODEL].classifier;
  let clf;
  try {
    clf = await loadClassifier(classifierDirOf(classifier));
  } catch (e) {
    ctx.note(`note: no agreement figure: ${(e as Error).message}`);
    return undefined;
  }
  try {
    const k = runner.config.numClasses;
    const labels = Array.from({ length: k * AGREEMENT_PER_CLASS }, (_, i) => Math.floor(i / AGREEMENT_PER_CLASS));
    const r = await generateWithProgress(ctx, runner, { count: labels.length, labels, seed, sampler: 'resampling-cfg', ...decoding }, 'agreement samples');
    const a = await classifierAgreement(clf, r.images, r.labels);
    return { agreement: a.agreement, samples: r.images.count, classifier };
  } finally {
    await clf.dispose();
  }
}

export async function runDemo(ctx: CliContext, flags: DemoFlags): Promise<void> {
  const t0 = Date.now();
  const out = resolve(flags.out);
  const name = flags.model ?? BUILTIN_MODEL;
  if (flags.train && name !== BUILTIN_MODEL) throw new UsageError(`--train trains a fresh ${BUILTIN_MODEL} to compare with the built-in one; drop --model ${name} or --train`);
  // Said before any work: --out is created and probed (a bare recursive mkdir never returns under /proc), and an earlier demo's run is not trained over without --force.
  const problem = directoryWriteProblem(out, { create: true });
  if (problem) throw new UsageError(`cannot write into --out ${flags.out}: ${problem}; choose another folder`);
  const runDir = join(out, 'demo-run');
  if (flags.train) {
    if (holdsRun(runDir) && !flags.force) throw runExists(runDir);
    prepareOutDir(runDir, { force: flags.force });
  }
  await ctx.initBackend();
  const files: Record<string, string> = {};
  const { runner, likelihood, dir, close } = await openRunner(ctx, { model: name }, { runtime: flags.runtime, likelihood: true });
  try {
    const builtin = await classGrid(ctx, runner, flags, 'built-in model');
    files.samples = join(out, 'samples.png');
    await writeFileAtomic(files.samples, await labelledFigure(rowsOf(builtin, runner.config, flags.perClass), ['built-in model'], { title: `FARMER ${name}, resampling CFG (w 2.5)` }));
    const summary: string[] = [`built-in model: ${dir}`];
    // The test split of the model's own data; a dataset that is not installed here skips bits/dim.
    const dataSpec = modelDataSpec(dir) ?? 'mnist';
    const test = await loadDataset(dataSpec, { split: 'test', ...modelImageOptions(runner.config) }).catch((e: Error) => (ctx.note(`note: no test bits/dim: ${e.message}`), undefined));
    const bpd = test ? await testBpd(ctx, likelihood, test, flags.evalImages) : undefined;
    if (bpd) summary.push(`  test bits/dim ${bpd.bpd.toFixed(4)} ± ${bpd.stderr.toFixed(4)} on ${bpd.images} test images of ${dataSpec} (uniform dequantisation)`);
    summary.push(`  samples: ${files.samples} (one row per class, resampling CFG, ${(builtin.timings.totalSeconds / builtin.images.count).toFixed(3)} s/image)`);
    const json: Record<string, unknown> = { builtin: { name, dir, testBpd: bpd, timings: builtin.timings, runtime: runner.runtime } };
    if (flags.train) {
      const chosen = await chooseFarmerEngine(flags.engine, preset('mnist-small'), { workers: flags.workers, threads: flags.threads });
      if (chosen.notice) ctx.note(`note: ${chosen.notice}`);
      ctx.note(engineNote(chosen));
      const train = await loadDataset('mnist');
      const batchSize = 32;
      ctx.note('calibrating the training speed of mnist-small...');
      const times = await calibrate({ ...train, ...gatherExamples(train, Int32Array.from({ length: 512 }, (_, i) => i)) }, batchSize, chosen.engine);
      const steps = Math.max(10, stepsForBudget(flags.train * 60, times));
      ctx.note(`training a fresh mnist-small for ${flags.train} min (~${steps} steps of ${batchSize}) → ${runDir}`);
      const model = FarmerModel.create(preset('mnist-small'), flags.seed);
      const tbar = ctx.progress('train', steps, 'steps');
      const trainer = Trainer.create({
        model,
        train,
        test: test ?? (await loadDataset('mnist', { split: 'test' })),
        outDir: runDir,
        engine: chosen.engine,
        handleSignals: true,
        force: flags.force,
        config: { steps, batchSize, lr: 2e-3, warmupSteps: Math.min(100, Math.floor(steps / 10)), noise: { mode: 'gaussian' }, evalEvery: 0, evalImages: flags.evalImages, checkpointEvery: 200, timeBudgetSeconds: flags.train * 60 },
        onEvent: (e) => e.type === 'step' && tbar.update(e.step, `bpd ${e.bpd.toFixed(3)}`),
        meta: { command: 'farmer demo --train', data: 'mnist' },
      });
      const s = await trainer.run();
      tbar.stop();
      trainer.dispose();
      model.dispose();
      files.checkpoint = s.checkpoint!;
      files.loss = (await writeLossPlot(join(runDir, 'metrics.jsonl'), join(out, 'loss.png'), `mnist-small, ${flags.train} min of training`)) ?? '';
      const fresh = await openRunner(ctx, { checkpoint: s.checkpoint! }, { runtime: flags.runtime });
      try {
        const own = await classGrid(ctx, fresh.runner, flags, 'trained model');
        files.compare = join(out, 'samples-trained.png');
        const rowsA = rowsOf(builtin, runner.config, flags.perClass);
        const rowsB = rowsOf(own, fresh.runner.config, flags.perClass);
        await writeFileAtomic(
          files.compare,
          await labelledFigure(rowsA.map((r, i) => ({ label: r.label, cells: [r.cells[0], rowsB[i].cells[0]] })), ['built-in model', `${flags.train} min of training`], { title: 'Built-in model vs a fresh mnist-small' }),
        );
        const agreement = await demoAgreement(ctx, fresh.runner, flags.seed, decodingOf(flags));
        summary.push(
          `fresh mnist-small trained for ${formatSeconds(s.elapsedSeconds)} (${s.steps} steps): test bits/dim ${s.lastEval ? `${s.lastEval.bpd.toFixed(4)} ± ${s.lastEval.stderr.toFixed(4)}` : 'n/a'}`,
          ...(agreement ? [`  classifier agreement ${(agreement.agreement * 100).toFixed(1)}% of ${agreement.samples} resampling-CFG samples (${agreement.classifier})`] : []),
          `  checkpoint: ${files.checkpoint}`,
          `  loss curve: ${files.loss}`,
          `  samples beside the built-in model's: ${files.compare}`,
        );
        json.trained = { checkpoint: files.checkpoint, steps: s.steps, seconds: s.elapsedSeconds, testBpd: s.lastEval, agreement };
      } finally {
        fresh.close();
      }
    }
    summary.push(`done in ${formatSeconds((Date.now() - t0) / 1000)}; runtime ${runner.runtime}, tfjs backend ${ctx.backend?.name}`);
    ctx.result(summary.join('\n'), { ...json, files, seconds: (Date.now() - t0) / 1000 });
  } finally {
    close();
  }
}

export function demoCommand(ctx: () => CliContext): Command {
  const cmd = new Command('demo')
    .description('sample a class grid from the built-in model and report its test bits/dim (and optionally train a fresh model)')
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--train <minutes>', 'also train a fresh mnist-small for this many minutes and compare', numberFlag('--train', { min: 0, exclusiveMin: true }))
    .option('--out <dir>', 'where to write the PNGs and the run', pathFlag('--out'), '.')
    .option('--per-class <n>', 'samples per class', intFlag('--per-class', 1), 8)
    .option('--seed <n>', 'sampling seed', intFlag('--seed', 0), 0)
    .option('--eval-images <n>', 'test images for bits/dim (0: all; 997 for mnist-small)', intFlag('--eval-images', 0), 0)
    .addOption(engineOption('for --train: '))
    .addOption(workersOption('for --train: '))
    .addOption(threadsOption('for --train: '))
    .option('--runtime <name>', 'sampling and bits/dim: auto (onnxruntime whenever it loads; else tfjs), onnx or tfjs', choiceFlag('--runtime', RUNTIME_CHOICES), 'auto')
    .addOption(forceRunOption('--out/demo-run'));
  for (const path of DEMO_DECODING) cmd.addOption(generateOptionFlag(path));
  return cmd
    .addHelpText('after', '\nExamples:\n  farmer demo\n  farmer demo --model fashion-small\n  farmer demo --train 5 --out demo/')
    .action(async (flags: DemoFlags) => runDemo(ctx(), flags));
}
