import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { gatherExamples, loadDataset, writeFileAtomic, sliceImages, type U8Images } from '@farmer/core';
import { evaluateBpd, FarmerModel, likelihoodOf, preset, Trainer, type FarmerEngine, type FarmerRunner } from '@farmer/ar-gmm';
import { chooseFarmerEngine, TRAIN_ENGINES, type TrainEngineChoice } from '@farmer/onnx';
import { RUNTIME_CHOICES, type RuntimeChoice } from '@farmer/runtime';
import type { GenerateResult } from '@farmer/sampling';
import type { CliContext } from '../context.js';
import { labelledFigure } from '../figure.js';
import { choiceFlag, intFlag, numberFlag } from '../flags.js';
import { openRunner } from '../model-open.js';
import { writeLossPlot } from '../plot.js';
import { formatSeconds } from '../progress.js';
import { generateWithProgress } from './sample.js';

export interface DemoFlags {
  train?: number;
  out: string;
  perClass: number;
  seed: number;
  evalImages: number;
  workers?: number;
  engine: TrainEngineChoice;
  runtime: RuntimeChoice;
}

/** Test bits/dim of a runner through its likelihood view. */
async function testBpd(ctx: CliContext, runner: FarmerRunner, test: Awaited<ReturnType<typeof loadDataset>>, maxImages: number) {
  const lik = likelihoodOf(runner);
  if (!lik) throw new Error(`internal: the ${runner.runtime} runner computes no likelihood`);
  const bar = ctx.progress('test bits/dim', maxImages || test.images.count, 'images');
  try {
    return await evaluateBpd(lik, test, { maxImages, onProgress: (d) => bar.update(d) });
  } finally {
    bar.stop();
  }
}

/** One row per class of `perClass` images each. */
function rowsOf(r: GenerateResult, numClasses: number, perClass: number): { label: string; cells: U8Images[] }[] {
  return Array.from({ length: numClasses }, (_, c) => ({ label: `digit ${c}`, cells: [sliceImages(r.images, c * perClass, perClass)] }));
}

async function classGrid(ctx: CliContext, runner: FarmerRunner, flags: DemoFlags, label: string): Promise<GenerateResult> {
  const k = runner.config.numClasses;
  const labels = Array.from({ length: k * flags.perClass }, (_, i) => Math.floor(i / flags.perClass));
  return generateWithProgress(ctx, runner, { count: labels.length, labels, seed: flags.seed, sampler: 'resampling-cfg' }, label);
}

/** Seconds per training step of a fresh mnist-small on this machine, from two timed steps. */
async function calibrate(train: Awaited<ReturnType<typeof loadDataset>>, batchSize: number, engine: FarmerEngine): Promise<number> {
  const model = FarmerModel.create(preset('mnist-small'), 0);
  const times: number[] = [];
  const t = Trainer.create({ model, train, config: { steps: 3, batchSize, evalEvery: 0, checkpointEvery: 0 }, engine, onEvent: (e) => e.type === 'step' && times.push(batchSize / e.imagesPerSec) });
  await t.run();
  t.dispose();
  model.dispose();
  return Math.min(...times.slice(1));
}

export async function runDemo(ctx: CliContext, flags: DemoFlags): Promise<void> {
  const t0 = Date.now();
  await ctx.initBackend();
  const out = resolve(flags.out);
  mkdirSync(out, { recursive: true });
  const files: Record<string, string> = {};
  const { runner, dir, close } = await openRunner(ctx, undefined, { runtime: flags.runtime });
  const test = await loadDataset('mnist', { split: 'test' });
  try {
    const builtin = await classGrid(ctx, runner, flags, 'built-in model');
    files.samples = join(out, 'samples.png');
    await writeFileAtomic(files.samples, await labelledFigure(rowsOf(builtin, runner.config.numClasses, flags.perClass), ['built-in model'], { title: 'FARMER mnist-small, resampling CFG (w 2.5)' }));
    const bpd = await testBpd(ctx, runner, test, flags.evalImages);
    const summary: string[] = [
      `built-in model: ${dir}`,
      `  test bits/dim ${bpd.bpd.toFixed(4)} ± ${bpd.stderr.toFixed(4)} on ${bpd.images} built-in MNIST test digits (uniform dequantisation)`,
      `  samples: ${files.samples} (one row per digit, resampling CFG, ${(builtin.timings.totalSeconds / builtin.images.count).toFixed(3)} s/image)`,
    ];
    const json: Record<string, unknown> = { builtin: { dir, testBpd: bpd, timings: builtin.timings, runtime: runner.runtime } };
    if (flags.train) {
      const runDir = join(out, 'demo-run');
      const chosen = await chooseFarmerEngine(flags.engine, preset('mnist-small'), { workers: flags.workers });
      if (chosen.notice) ctx.note(`note: ${chosen.notice}`);
      const train = await loadDataset('mnist');
      const batchSize = 32;
      ctx.note(`calibrating the training speed of mnist-small on ${chosen.name === 'ort' ? `onnxruntime (${chosen.workers} threads)` : `tfjs (${chosen.workers} workers)`}...`);
      const perStep = await calibrate({ ...train, ...gatherExamples(train, Int32Array.from({ length: 256 }, (_, i) => i)) }, batchSize, chosen.engine);
      const steps = Math.max(10, Math.floor((flags.train * 60) / perStep));
      ctx.note(`training a fresh mnist-small for ${flags.train} min (~${steps} steps of ${batchSize}) → ${runDir}`);
      const model = FarmerModel.create(preset('mnist-small'), flags.seed);
      const tbar = ctx.progress('train', steps, 'steps');
      const trainer = Trainer.create({
        model,
        train,
        test,
        outDir: runDir,
        engine: chosen.engine,
        handleSignals: true,
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
      const fresh = await openRunner(ctx, s.checkpoint!, { runtime: flags.runtime, purposes: ['sample'] });
      try {
        const own = await classGrid(ctx, fresh.runner, flags, 'trained model');
        files.compare = join(out, 'samples-trained.png');
        const rowsA = rowsOf(builtin, 10, flags.perClass);
        const rowsB = rowsOf(own, 10, flags.perClass);
        await writeFileAtomic(
          files.compare,
          await labelledFigure(rowsA.map((r, i) => ({ label: r.label, cells: [r.cells[0], rowsB[i].cells[0]] })), ['built-in model', `${flags.train} min of training`], { title: 'Built-in model vs a fresh mnist-small' }),
        );
        summary.push(
          `fresh mnist-small trained for ${formatSeconds(s.elapsedSeconds)} (${s.steps} steps): test bits/dim ${s.lastEval ? `${s.lastEval.bpd.toFixed(4)} ± ${s.lastEval.stderr.toFixed(4)}` : 'n/a'}`,
          `  checkpoint: ${files.checkpoint}`,
          `  loss curve: ${files.loss}`,
          `  samples beside the built-in model's: ${files.compare}`,
        );
        json.trained = { checkpoint: files.checkpoint, steps: s.steps, seconds: s.elapsedSeconds, testBpd: s.lastEval };
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
  return new Command('demo')
    .description('sample a class grid from the built-in model and report its test bits/dim (and optionally train a fresh model)')
    .option('--train <minutes>', 'also train a fresh mnist-small for this many minutes and compare', numberFlag('--train', { min: 0, exclusiveMin: true }))
    .option('--out <dir>', 'where to write the PNGs and the run', '.')
    .option('--per-class <n>', 'samples per digit', intFlag('--per-class', 1), 8)
    .option('--seed <n>', 'sampling seed', intFlag('--seed', 0), 0)
    .option('--eval-images <n>', 'test images for bits/dim (0: all 997)', intFlag('--eval-images', 0), 0)
    .option('--engine <name>', 'training engine for --train: auto, ort, tfjs', choiceFlag('--engine', TRAIN_ENGINES), 'auto')
    .option('--workers <n>', 'for --train: ort intra-op threads or tfjs worker threads (default: available cores)', intFlag('--workers', 1))
    .option('--runtime <name>', 'sampling and bits/dim: auto (onnxruntime whenever it loads; else tfjs), onnx or tfjs', choiceFlag('--runtime', RUNTIME_CHOICES), 'auto')
    .addHelpText('after', '\nExamples:\n  farmer demo\n  farmer demo --train 5 --out demo/')
    .action(async (flags: DemoFlags) => runDemo(ctx(), flags));
}
