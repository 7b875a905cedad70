import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DATASET_SPEC_HELP, writeFileAtomic } from '@farmer/core';
import { computeOodStats, evaluateBayesClassifier, evaluateOod, OOD_SCORES, OOD_STATS_FILE, readOodStats, writeOodStats, type OodStats } from '@farmer/eval';
import type { RuntimeChoice } from '@farmer/runtime';
import type { CliContext } from '../context.js';
import { intFlag, pathFlag } from '../flags.js';
import { modelDataSpec, openRunner, type ModelFlags } from '../model-open.js';
import { renderHistogramPng, renderReliabilityPng } from '../plot.js';
import { loadSplit } from '../dataset-split.js';
import { addModelOptions } from '../model-options.js';

interface LikelihoodEvalFlags extends ModelFlags {
  /** Default: the model's training data, else mnist. */
  data?: string;
  maxImages: number;
  batchSize: number;
  seed: number;
  ema: boolean;
  runtime: RuntimeChoice;
}

export interface EvalClassifyFlags extends LikelihoodEvalFlags {
  calibrationImages: number;
  bins: number;
  plot: string;
}

/** `farmer eval classify`: accuracy, confusion matrix and calibration of the Bayes classifier on a test split. */
export async function runEvalClassify(ctx: CliContext, flags: EvalClassifyFlags): Promise<void> {
  await ctx.initBackend();
  const { runner, likelihood, dir, close } = await openRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime, likelihood: true });
  try {
    const data = flags.data ?? modelDataSpec(dir) ?? 'mnist';
    const test = await loadSplit(data, 'test', runner, flags.maxImages);
    // The temperature comes from training images (evenly spaced over the split), never from the test split.
    const heldOut = flags.calibrationImages > 0 ? await loadSplit(data, 'train', runner, flags.calibrationImages) : undefined;
    const total = test.images.count + (heldOut?.images.count ?? 0);
    const bar = ctx.progress('eval classify', total, 'images');
    const r = await evaluateBayesClassifier(likelihood, test, { heldOut, bins: flags.bins, batchSize: flags.batchSize, seed: flags.seed, onProgress: (d) => bar.update(d) });
    bar.stop();
    await writeFileAtomic(flags.plot, await renderReliabilityPng(r.bins, `Bayes classifier reliability, ${data} test (ECE ${r.ece.toFixed(4)}, T ${r.temperature.value.toPrecision(4)})`));
    const K = r.confusion.length;
    const w = Math.max(4, ...r.confusion.flat().map((v) => String(v).length)) + 1;
    const confusion = [`true\\pred ${Array.from({ length: K }, (_, k) => String(k).padStart(w)).join('')}`, ...r.confusion.map((row, k) => `${String(k).padStart(9)} ${row.map((v) => String(v).padStart(w)).join('')}`)].join('\n');
    const t = r.temperature;
    ctx.result(
      [
        `accuracy ${(100 * r.accuracy).toFixed(2)}% on ${r.images} ${data} test images (Bayes rule, uniform prior)`,
        `ECE (${flags.bins} bins) ${r.ece.toFixed(4)} at T = ${t.value.toPrecision(4)}${t.fittedOn ? ` (fitted on ${t.fittedOn} training images)` : ''}; ${r.eceAtT1.toFixed(4)} at T = 1`,
        `${r.imagesPerSecond.toFixed(1)} images/s on ${runner.runtime}`,
        confusion,
        `reliability diagram: ${flags.plot}`,
        `checkpoint: ${dir}`,
      ].join('\n'),
      { checkpoint: dir, runtime: runner.runtime, data, images: r.images, accuracy: r.accuracy, confusion: r.confusion, temperature: t, ece: r.ece, eceAtT1: r.eceAtT1, bins: r.bins, imagesPerSecond: r.imagesPerSecond, plot: flags.plot },
    );
  } finally {
    close();
  }
}

export interface EvalOodFlags extends LikelihoodEvalFlags {
  oodData: string;
  statsImages: number;
  refreshStats?: boolean;
  plot: string;
}

/** `farmer eval ood`: AUROC per OOD score of a test split against another dataset's (docs/method.md §5.5 OOD scores). */
export async function runEvalOod(ctx: CliContext, flags: EvalOodFlags): Promise<void> {
  await ctx.initBackend();
  const { runner, likelihood: lik, dir, close } = await openRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime, likelihood: true });
  try {
    const data = flags.data ?? modelDataSpec(dir) ?? 'mnist';
    const inDist = await loadSplit(data, 'test', runner, flags.maxImages);
    const ood = await loadSplit(flags.oodData, 'test', runner, flags.maxImages);
    let stats: OodStats;
    let statsNote: string;
    if (!flags.refreshStats && existsSync(join(dir, OOD_STATS_FILE))) {
      stats = readOodStats(dir);
      statsNote = `training statistics from ${join(dir, OOD_STATS_FILE)} (${stats.images} ${stats.data} training images)`;
    } else {
      const train = await loadSplit(data, 'train', runner, flags.statsImages);
      const bar = ctx.progress('training statistics', train.images.count, 'images');
      stats = await computeOodStats(lik, train.images, data, { batchSize: flags.batchSize, seed: flags.seed, onProgress: (d) => bar.update(d) });
      bar.stop();
      const path = await writeOodStats(dir, stats);
      statsNote = `wrote the training statistics to ${path} (${stats.images} ${data} training images)`;
    }
    const bar = ctx.progress('eval ood', inDist.images.count + ood.images.count, 'images');
    const r = await evaluateOod(lik, inDist.images, ood.images, stats, { batchSize: flags.batchSize, seed: flags.seed, onProgress: (d) => bar.update(d) });
    bar.stop();
    const stem = flags.plot.replace(/\.png$/i, '');
    const plots: Record<string, string> = {};
    for (const k of OOD_SCORES) {
      plots[k] = `${stem}-${k}.png`;
      await writeFileAtomic(plots[k], await renderHistogramPng([{ name: `${data} test`, values: r.scores[k].in }, { name: `${flags.oodData} test`, values: r.scores[k].out }], k));
    }
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    ctx.result(
      [
        `AUROC of ${flags.oodData} test (${r.images.out}) against ${data} test (${r.images.in}); higher score = out of distribution, 0.5 = chance:`,
        ...OOD_SCORES.map((k) => `  ${k.padEnd(13)} ${r.auroc[k].toFixed(4)}   (mean in ${mean(r.scores[k].in).toFixed(4)}, out ${mean(r.scores[k].out).toFixed(4)})`),
        statsNote,
        `histograms: ${Object.values(plots).join(', ')}`,
        `checkpoint: ${dir}`,
      ].join('\n'),
      { checkpoint: dir, runtime: runner.runtime, data, oodData: flags.oodData, images: r.images, auroc: r.auroc, means: Object.fromEntries(OOD_SCORES.map((k) => [k, { in: mean(r.scores[k].in), out: mean(r.scores[k].out) }])), stats, plots },
    );
  } finally {
    close();
  }
}

/** `eval classify` and `eval ood` under `farmer eval`. */
export function addLikelihoodEvalCommands(ev: Command, ctx: () => CliContext): void {
  addModelOptions(
    ev
      .command('classify')
      .description("the Bayes classifier p(y|x) ∝ p(x|y)·p(y): accuracy, confusion matrix, calibration (ECE, reliability PNG)")
      .option('--data <spec>', `dataset (its test split is scored): ${DATASET_SPEC_HELP} (default: the model's training data, else mnist)`)
      .option('--max-images <n>', 'score at most n test images, evenly spaced (0: all)', intFlag('--max-images', 0), 0)
      .option('--calibration-images <n>', 'fit the temperature on n TRAINING images, evenly spaced over the split (0: T = 1); never on the test split', intFlag('--calibration-images', 0), 1000)
      .option('--bins <n>', 'confidence bins of ECE and the reliability diagram', intFlag('--bins', 1), 15)
      .option('--plot <file>', 'reliability diagram PNG', pathFlag('--plot'), 'reliability.png'),
  )
    .addHelpText('after', '\nExamples:\n  farmer eval classify\n  farmer eval classify --checkpoint runs/small --max-images 500 --json')
    .action(async (flags: EvalClassifyFlags) => runEvalClassify(ctx(), flags));
  addModelOptions(
    ev
      .command('ood')
      .description('out-of-distribution detection: AUROC of bits/dim, typicality and logdet per dim, with histograms')
      .requiredOption('--ood-data <spec>', `the out-of-distribution dataset (its test split): ${DATASET_SPEC_HELP}`)
      .option('--data <spec>', "the in-distribution dataset (its test split; its training split gives the statistics; default: the model's training data, else mnist)")
      .option('--max-images <n>', 'at most n test images of each dataset, evenly spaced (0: all)', intFlag('--max-images', 0), 1000)
      .option('--stats-images <n>', 'training images for the statistics, evenly spaced (0: all)', intFlag('--stats-images', 0), 1000)
      .option('--refresh-stats', `recompute ${OOD_STATS_FILE} even if the checkpoint has it`)
      .option('--plot <file>', 'histogram PNGs, one per score: <stem>-<score>.png', pathFlag('--plot'), 'ood.png'),
  )
    .addHelpText('after', '\nExamples:\n  farmer eval ood --data mnist --ood-data idx:/usr/share/datasets/fashion-mnist')
    .action(async (flags: EvalOodFlags) => runEvalOod(ctx(), flags));
}
