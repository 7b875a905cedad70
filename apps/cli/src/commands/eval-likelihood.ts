import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DATASET_SPEC_HELP, resolveCheckpointDir, writeFileAtomic } from '@farmer/core';
import type { FarmerLikelihood, FarmerRunner } from '@farmer/ar-gmm';
import { computeOodStats, DEFAULT_OOD_SCORE, evaluateBayesClassifier, evaluateOod, OOD_ORIENTATION, OOD_SCORES, OOD_STATS_FILE, oodStatsOutdated, readOodStats, writeOodStats, type OodStats } from '@farmer/eval';
import type { RuntimeChoice } from '@farmer/runtime';
import type { CliContext } from '../context.js';
import { intFlag, pathFlag } from '../flags.js';
import { modelDataSpec, modelDirOf, openRunner, type ModelFlags } from '../model-open.js';
import { UsageError } from '../errors.js';
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
  oodData?: string;
  bothWays?: string;
  statsImages: number;
  refreshStats?: boolean;
  plot: string;
}

/** The training statistics of `dir`'s model: read, or computed from `data`'s training split and written when missing, outdated or refreshed. */
async function oodStatsFor(ctx: CliContext, lik: FarmerLikelihood, runner: FarmerRunner, dir: string, data: string, flags: EvalOodFlags): Promise<{ stats: OodStats; note: string }> {
  const path = join(dir, OOD_STATS_FILE);
  const outdated = oodStatsOutdated(dir);
  if (!flags.refreshStats && !outdated && existsSync(path)) {
    const stats = readOodStats(dir);
    return { stats, note: `training statistics from ${path} (${stats.images} ${stats.data} training images)` };
  }
  if (outdated) ctx.note(`${path} is from an older farmer-ts; remaking it`);
  const train = await loadSplit(data, 'train', runner, flags.statsImages);
  const bar = ctx.progress('training statistics', train.images.count, 'images');
  const stats = await computeOodStats(lik, train.images, data, { batchSize: flags.batchSize, seed: flags.seed, onProgress: (d) => bar.update(d) });
  bar.stop();
  return { stats, note: `wrote the training statistics to ${await writeOodStats(dir, stats)} (${stats.images} ${data} training images)` };
}

/** One direction of `farmer eval ood`: a model's test split against another dataset's, every score's AUROC and FPR at 95% TPR, histograms. */
async function oodOneWay(ctx: CliContext, source: ModelFlags, data: string | undefined, oodData: string, plotStem: string, flags: EvalOodFlags) {
  const { runner, likelihood: lik, dir, close } = await openRunner(ctx, source, { ema: flags.ema, runtime: flags.runtime, likelihood: true });
  try {
    const inData = data ?? modelDataSpec(dir) ?? 'mnist';
    const inDist = await loadSplit(inData, 'test', runner, flags.maxImages);
    const ood = await loadSplit(oodData, 'test', runner, flags.maxImages);
    const { stats, note } = await oodStatsFor(ctx, lik, runner, dir, inData, flags);
    const bar = ctx.progress('eval ood', inDist.images.count + ood.images.count, 'images');
    const r = await evaluateOod(lik, inDist.images, ood.images, stats, { batchSize: flags.batchSize, seed: flags.seed, onProgress: (d) => bar.update(d) });
    bar.stop();
    const plots: Record<string, string> = {};
    for (const k of OOD_SCORES) {
      plots[k] = `${plotStem}-${k}.png`;
      await writeFileAtomic(plots[k], await renderHistogramPng([{ name: `${inData} test`, values: r.scores[k].in }, { name: `${oodData} test`, values: r.scores[k].out }], k));
    }
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const median = (a: Float64Array) => Float64Array.from(a).sort()[Math.floor(a.length / 2)];
    const per = (f: (a: Float64Array) => number) => Object.fromEntries(OOD_SCORES.map((k) => [k, { in: f(r.scores[k].in), out: f(r.scores[k].out) }]));
    return { checkpoint: dir, runtime: runner.runtime, data: inData, oodData, images: r.images, auroc: r.auroc, fprAt95Tpr: r.fprAt95Tpr, means: per(mean), medians: per(median), stats, statsNote: note, plots };
  } finally {
    close();
  }
}

type OodDirection = Awaited<ReturnType<typeof oodOneWay>>;

/** The table of one direction: a row per score, the default first and starred. */
function oodTable(d: OodDirection): string[] {
  const num = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));
  return [
    `${d.checkpoint} (${d.runtime}): ${d.oodData} test (${d.images.out}) against ${d.data} test (${d.images.in})`,
    `  ${'score'.padEnd(22)} OOD is   AUROC   FPR@95%TPR  median in   median out`,
    ...OOD_SCORES.map((k) => `${k === DEFAULT_OOD_SCORE ? '*' : ' '} ${k.padEnd(22)} ${OOD_ORIENTATION[k].padEnd(6)}   ${d.auroc[k].toFixed(4)}  ${d.fprAt95Tpr[k].toFixed(4).padEnd(10)}  ${num(d.medians[k].in).padEnd(10)}  ${num(d.medians[k].out)}`),
    `  ${d.statsNote}`,
  ];
}

/** A model given to --both-ways: a checkpoint or run directory when one exists at that path, else a built-in model's name. */
function modelFlagsOf(spec: string): ModelFlags {
  return existsSync(spec) ? { checkpoint: spec } : { model: spec };
}

/**
 * `farmer eval ood`: every OOD score's AUROC and FPR at 95% TPR for a model's test split
 * against another dataset's (docs/method.md §5.5 OOD scores); with --both-ways B, also B
 * on its own data against the first model's.
 */
export async function runEvalOod(ctx: CliContext, flags: EvalOodFlags): Promise<void> {
  if (!flags.bothWays && !flags.oodData) throw new UsageError('give --ood-data SPEC (the out-of-distribution dataset), or --both-ways MODEL to test against that model\'s data both ways');
  if (flags.bothWays && flags.oodData) throw new UsageError("--both-ways takes each model's own training data as the other's OOD data; drop --ood-data");
  await ctx.initBackend();
  const stem = flags.plot.replace(/\.png$/i, '');
  const a: ModelFlags = { model: flags.model, checkpoint: flags.checkpoint };
  if (!flags.bothWays) {
    const d = await oodOneWay(ctx, a, flags.data, flags.oodData!, stem, flags);
    ctx.result([...oodTable(d), `* the default score; histograms: ${Object.values(d.plots).join(', ')}`].join('\n'), { ...d, defaultScore: DEFAULT_OOD_SCORE, orientation: OOD_ORIENTATION });
    return;
  }
  const b = modelFlagsOf(flags.bothWays);
  const dataOf = (m: ModelFlags) => modelDataSpec(resolveCheckpointDir(modelDirOf(m).dir));
  const dataA = flags.data ?? dataOf(a) ?? 'mnist';
  const dataB = dataOf(b);
  if (!dataB) throw new UsageError(`--both-ways needs ${flags.bothWays}'s training data, and its config.json does not record it (meta.data)`);
  const first = await oodOneWay(ctx, a, dataA, dataB, `${stem}-a`, flags);
  const second = await oodOneWay(ctx, b, dataB, dataA, `${stem}-b`, flags);
  const worst = Object.fromEntries(OOD_SCORES.map((k) => [k, Math.min(first.auroc[k], second.auroc[k])]));
  const both = OOD_SCORES.filter((k) => worst[k] >= 0.95);
  ctx.result(
    [
      ...oodTable(first),
      '',
      ...oodTable(second),
      '',
      `the worse AUROC of the two directions: ${OOD_SCORES.map((k) => `${k} ${worst[k].toFixed(4)}`).join(', ')}`,
      both.length ? `AUROC ≥ 0.95 both ways: ${both.join(', ')}` : 'no score reaches AUROC 0.95 both ways',
      `* the default score; histograms: ${stem}-a-<score>.png, ${stem}-b-<score>.png`,
    ].join('\n'),
    { ...first, defaultScore: DEFAULT_OOD_SCORE, orientation: OOD_ORIENTATION, directions: [first, second], worstAuroc: worst },
  );
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
      .description(`out-of-distribution detection: every score's AUROC and FPR at 95% TPR (${OOD_SCORES.join(', ')}; the default, ${DEFAULT_OOD_SCORE}, first), with histograms`)
      .option('--ood-data <spec>', `the out-of-distribution dataset (its test split): ${DATASET_SPEC_HELP}`)
      .option('--both-ways <model>', "the symmetric test: also this model (a built-in name or a checkpoint directory) on its own test data against the first model's, each model's training data being the other's OOD data")
      .option('--data <spec>', "the in-distribution dataset (its test split; its training split gives the statistics; default: the model's training data, else mnist)")
      .option('--max-images <n>', 'at most n test images of each dataset, evenly spaced (0: all)', intFlag('--max-images', 0), 1000)
      .option('--stats-images <n>', 'training images for the statistics, evenly spaced (0: all)', intFlag('--stats-images', 0), 1000)
      .option('--refresh-stats', `recompute ${OOD_STATS_FILE} even if the checkpoint has it`)
      .option('--plot <file>', 'histogram PNGs, one per score: <stem>-<score>.png (with --both-ways <stem>-a-<score>.png and <stem>-b-<score>.png)', pathFlag('--plot'), 'ood.png'),
  )
    .addHelpText('after', '\nExamples:\n  farmer eval ood --data mnist --ood-data idx:/usr/share/datasets/fashion-mnist\n  farmer eval ood --model mnist-small --both-ways fashion-small')
    .action(async (flags: EvalOodFlags) => runEvalOod(ctx(), flags));
}
