import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { DATASET_SPEC_HELP, directoryWriteProblem, encodePng, gatherExamples, imageGrid, loadDataset, writeFileAtomic, type U8Images } from '@farmer/core';
import { className, evaluateBpd, modelImageOptions, type FarmerRunner } from '@farmer/ar-gmm';
import { resolveGenerateOptions, type GenerateOptions } from '@farmer/sampling';
import { BUILTIN_CLASSIFIERS, classifierDirOf } from '@farmer/models';
import { agreementReference, checkClassifierOutput, classifierAgreement, ClassifierConfigSchema, loadClassifier, logdetDiagnostics, sampleMetrics, saveClassifier, trainClassifier, type AgreementReference, type FeatureClassifier, type ProbabilityExtractor, type SampleMetric } from '@farmer/eval';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { choiceFlag, forceOption, intFlag, intListFlag, pathFlag } from '../flags.js';
import { CHECKPOINT_FLAG_HELP, modelDataSpec, MODEL_FLAG_HELP, openRunner, openTfRunner } from '../model-open.js';
import { renderHistogramPng } from '../plot.js';
import { addSamplerFlags, addScaleOutFlags, generateOptionsFromFlags, generateWithProgress, shardedImages, type SampleFlags, type ScaleOutFlags } from '../sampling/index.js';
import { labelledFigure } from '../figure.js';

interface MetricFlags extends SampleFlags {
  classifier?: string;
  onnx?: string;
  /** Default: the data the model was trained on (see modelDataSpec), else mnist. */
  data?: string;
  refSplit: 'train' | 'test';
  refStats?: string;
  realCount: number;
}

/** Help of `--classifier`: a built-in classifier by name, or a folder. */
const CLASSIFIER_FLAG_HELP = `feature network: a built-in one (${BUILTIN_CLASSIFIERS.join(', ')}) or a folder (farmer eval train-classifier)`;

async function openExtractor(flags: { classifier?: string; onnx?: string }): Promise<ProbabilityExtractor> {
  if (flags.onnx && flags.classifier) throw new UsageError('give --classifier or --onnx, not both');
  if (flags.onnx) {
    const { OnnxFeatureExtractor } = await import('@farmer/eval/onnx');
    return OnnxFeatureExtractor.load(flags.onnx);
  }
  if (!flags.classifier) throw new UsageError(`a feature network is needed: --classifier NAME|DIR (built-in: ${BUILTIN_CLASSIFIERS.join(', ')}; or train one with farmer eval train-classifier) or --onnx MODEL.onnx`);
  return loadClassifier(classifierDirOf(flags.classifier));
}

/** Real images of the reference split, at most `n`. */
async function realImages(spec: string, split: 'train' | 'test', n: number, runner: FarmerRunner): Promise<U8Images> {
  const ds = await loadDataset(spec, { split, ...modelImageOptions(runner.config) });
  const count = n > 0 ? Math.min(n, ds.images.count) : ds.images.count;
  return gatherExamples(ds, Int32Array.from({ length: count }, (_, i) => i)).images;
}

/** What to generate for the metrics: one image per class in turn (conditional models) or unconditional. */
function fakeOptions(runner: FarmerRunner, flags: SampleFlags): GenerateOptions {
  return generateOptionsFromFlags({ ...flags, labels: flags.labels ?? (runner.config.numClasses && !flags.unconditional ? Array.from({ length: flags.count ?? 1000 }, (_, i) => i % runner.config.numClasses) : undefined) }, runner.config.numClasses);
}

/** Generated images for the metrics, in this process. */
async function fakeImages(ctx: CliContext, runner: FarmerRunner, flags: SampleFlags): Promise<U8Images> {
  return (await generateWithProgress(ctx, runner, fakeOptions(runner, flags), 'generate')).images;
}

export async function runSampleMetrics(ctx: CliContext, metrics: SampleMetric[], flags: MetricFlags & ScaleOutFlags): Promise<void> {
  await ctx.initBackend();
  const opened = await openRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime });
  const { runner, dir, close } = opened;
  const extractor = await openExtractor(flags);
  try {
    const data = flags.data ?? modelDataSpec(dir) ?? 'mnist';
    const { seed } = resolveGenerateOptions(runner, fakeOptions(runner, { ...flags, maxCount: Infinity }));
    // With --redis, workers draw the images in shards (no per-run count limit).
    const fake = flags.redis ? await shardedImages(ctx, flags, opened, fakeOptions(runner, { ...flags, maxCount: Infinity })) : await fakeImages(ctx, runner, flags);
    const real = await realImages(data, flags.refSplit, flags.realCount, runner);
    const bar = ctx.progress('features', fake.count + real.count, 'images');
    const r = await sampleMetrics({ extractor, real, fake, metrics, referenceStatsPath: flags.refStats, onProgress: (stage, d) => bar.update(stage.includes('real') ? fake.count + d : d, stage) });
    bar.stop();
    const lines = [
      r.fid !== undefined ? `FID ${r.fid.toFixed(3)}` : '',
      r.kid ? `KID ${r.kid.mean.toExponential(3)} ± ${r.kid.std.toExponential(2)} (subsets of ${r.kid.subsetSize})` : '',
      r.is ? `IS ${r.is.mean.toFixed(3)} ± ${r.is.std.toFixed(3)}` : '',
      r.precision !== undefined ? `precision ${r.precision.toFixed(4)}, recall ${r.recall!.toFixed(4)} (k = 3)` : '',
      `${r.fakeCount} generated vs ${r.realCount} real (${data}, ${flags.refSplit}); features: ${r.extractor.id}; seed ${seed}`,
    ];
    ctx.result(lines.filter(Boolean).join('\n'), { ...r, checkpoint: dir, seed, data });
  } finally {
    await extractor.dispose();
    close();
  }
}

/** The flags of `farmer eval train-classifier`. */
interface TrainClassifierFlags {
  data: string;
  out: string;
  epochs: number;
  batchSize?: number;
  conv?: number[];
  hidden?: number[];
  flip?: boolean;
  seed: number;
  imageSize?: number;
  force?: boolean;
}

export async function runTrainClassifier(ctx: CliContext, flags: TrainClassifierFlags): Promise<void> {
  // Before any training: what is at --out must be a classifier (or nothing), unless --force.
  checkClassifierOutput(flags.out, { force: flags.force });
  await ctx.initBackend();
  const train = await loadDataset(flags.data, { split: 'train', imageSize: flags.imageSize });
  const test = await loadDataset(flags.data, { split: 'test', imageSize: flags.imageSize });
  const bar = ctx.progress('train classifier', 1, 'steps');
  const { classifier, testAccuracy } = await trainClassifier(train, test, { epochs: flags.epochs, batchSize: flags.batchSize, conv: flags.conv, hidden: flags.hidden, flip: flags.flip, seed: flags.seed, data: flags.data, onProgress: (e) => (bar.setTotal(e.steps), bar.update(e.step, `loss ${e.loss.toFixed(3)}`)) });
  bar.stop();
  await saveClassifier(flags.out, classifier, { testAccuracy, data: flags.data, epochs: flags.epochs, ...(flags.flip ? { flip: true } : {}) }, { force: flags.force });
  await classifier.dispose();
  ctx.result(`classifier → ${flags.out}: test accuracy ${(testAccuracy * 100).toFixed(2)}% on ${test.images.count} ${flags.data} test images`, { out: flags.out, testAccuracy, data: flags.data });
}

export async function runLogdet(ctx: CliContext, flags: SampleFlags & { data?: string; flaggedOut?: string; histogram?: string }): Promise<void> {
  await ctx.initBackend();
  const { runner, dir, close } = await openTfRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime });
  try {
    const real = await realImages(flags.data ?? modelDataSpec(dir) ?? 'mnist', 'test', flags.count ?? 500, runner);
    const fake = await fakeImages(ctx, runner, { ...flags, count: flags.count ?? 500 });
    const onData = await logdetDiagnostics(runner.model.flow, real);
    const onSamples = await logdetDiagnostics(runner.model.flow, fake);
    const files: Record<string, string> = {};
    if (flags.flaggedOut) {
      const pick = (idx: number[]) => gatherExamples({ name: '', split: 'test', images: fake, labels: new Int32Array(fake.count), numClasses: 1, classNames: [''] }, idx.slice(0, 32)).images;
      const rows = [];
      if (onSamples.high.length) rows.push({ label: 'high logdet', cells: [pick(onSamples.high)] });
      if (onSamples.low.length) rows.push({ label: 'low logdet', cells: [pick(onSamples.low)] });
      if (rows.length) {
        files.flagged = resolve(flags.flaggedOut);
        await writeFileAtomic(files.flagged, await labelledFigure(rows, ['samples flagged by their logdet (Tukey fences)']));
      }
    }
    if (flags.histogram) {
      files.histogram = resolve(flags.histogram);
      await writeFileAtomic(files.histogram, await renderHistogramPng([{ name: 'data', values: onData.logdet }, { name: 'samples', values: onSamples.logdet }], 'Σ log|det| per dimension'));
    }
    const fmt = (d: typeof onData) => `mean ${d.stats.mean.toFixed(4)}, sd ${d.stats.std.toFixed(4)}, median ${d.stats.median.toFixed(4)}; ${d.high.length} high and ${d.low.length} low outliers`;
    ctx.result(
      [`logdet per dim on ${real.count} test images: ${fmt(onData)}`, `logdet per dim on ${fake.count} samples: ${fmt(onSamples)}`, ...Object.entries(files).map(([k, v]) => `${k}: ${v}`)].join('\n'),
      { checkpoint: dir, data: { stats: onData.stats, high: onData.high, low: onData.low }, samples: { stats: onSamples.stats, high: onSamples.high, low: onSamples.low }, files },
    );
  } finally {
    close();
  }
}

export async function runReport(ctx: CliContext, flags: MetricFlags & { out: string }): Promise<void> {
  // The report's files go into --out (others there are left alone): said before any work when that cannot be.
  const outProblem = directoryWriteProblem(resolve(flags.out), { create: true });
  if (outProblem) throw new UsageError(`cannot write the report into --out ${flags.out}: ${outProblem}; choose another folder`);
  await ctx.initBackend();
  const { runner, dir, close } = await openTfRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime });
  const extractor = await openExtractor(flags);
  try {
    const data = flags.data ?? modelDataSpec(dir) ?? 'mnist';
    const test = await loadDataset(data, { split: 'test', ...modelImageOptions(runner.config) });
    const bpd = await evaluateBpd(runner.model, test);
    const { seed } = resolveGenerateOptions(runner, fakeOptions(runner, flags));
    const fake = await fakeImages(ctx, runner, flags);
    const real = await realImages(data, flags.refSplit, flags.realCount, runner);
    const metrics = await sampleMetrics({ extractor, real, fake, metrics: ['fid', 'kid', 'is', 'pr'], referenceStatsPath: flags.refStats });
    const ld = await logdetDiagnostics(runner.model.flow, fake);
    const out = resolve(flags.out);
    const report = { checkpoint: dir, bitsPerDim: bpd, metrics, logdet: { stats: ld.stats, high: ld.high.length, low: ld.low.length }, seed, samples: fake.count };
    await writeFileAtomic(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    const grid = imageGrid({ ...fake, count: Math.min(64, fake.count), data: fake.data.subarray(0, Math.min(64, fake.count) * fake.height * fake.width * fake.channels) }, { columns: 8 });
    const hist = await renderHistogramPng([{ name: 'samples', values: ld.logdet }], 'logdet per dimension of the samples');
    const sharp = (await import('sharp')).default;
    const histMeta = await sharp(Buffer.from(hist)).metadata();
    const gridPng = await sharp(Buffer.from(encodePng(grid))).resize({ width: grid.width * 3, kernel: 'nearest' }).png().toBuffer();
    const gridMeta = await sharp(gridPng).metadata();
    const text = `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(gridMeta.width!, histMeta.width!) + 40}" height="110"><rect width="100%" height="100%" fill="white"/><text x="20" y="30" font-family="DejaVu Sans" font-size="18">FARMER report: ${dir.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text><text x="20" y="60" font-family="DejaVu Sans" font-size="15">test ${bpd.bpd.toFixed(4)} ± ${bpd.stderr.toFixed(4)} bits/dim · FID ${metrics.fid?.toFixed(2)} · KID ${metrics.kid?.mean.toExponential(2)} · IS ${metrics.is?.mean.toFixed(2)}</text><text x="20" y="88" font-family="DejaVu Sans" font-size="15">precision ${metrics.precision?.toFixed(3)} · recall ${metrics.recall?.toFixed(3)} · ${fake.count} samples, features ${metrics.extractor.id}</text></svg>`;
    const width = Math.max(gridMeta.width!, histMeta.width!) + 40;
    const height = 110 + gridMeta.height! + histMeta.height! + 40;
    const page = await sharp({ create: { width, height, channels: 3, background: 'white' } })
      .composite([
        { input: Buffer.from(text), top: 0, left: 0 },
        { input: gridPng, top: 120, left: 20 },
        { input: Buffer.from(hist), top: 130 + gridMeta.height!, left: 20 },
      ])
      .png()
      .toBuffer();
    await writeFileAtomic(join(out, 'report.png'), new Uint8Array(page));
    ctx.result(`report → ${join(out, 'report.json')} and ${join(out, 'report.png')}\ntest ${bpd.bpd.toFixed(4)} bits/dim, FID ${metrics.fid?.toFixed(3)}, IS ${metrics.is?.mean.toFixed(3)}`, report);
  } finally {
    await extractor.dispose();
    close();
  }
}

/**
 * The classifier on the test split of the data it was trained on, beside the
 * samples' agreement (docs/method.md §10.3 Classifier agreement); undefined,
 * with a note, when that data cannot be read here.
 */
async function realReference(ctx: CliContext, clf: FeatureClassifier, agreementPerClass: number[]): Promise<AgreementReference | undefined> {
  const spec = clf.config.data;
  if (!spec) return undefined;
  let ds;
  try {
    // Loaded as `farmer eval train-classifier` loaded it, so the accuracy is the one it reported.
    ds = await loadDataset(spec, { split: 'test', imageSize: clf.config.height });
  } catch (e) {
    ctx.note(`note: no real-image reference: ${(e as Error).message}`);
    return undefined;
  }
  return agreementReference(clf, ds.images, ds.labels, agreementPerClass);
}

export async function runAgreement(ctx: CliContext, flags: SampleFlags & { classifier: string }): Promise<void> {
  const classifierDir = classifierDirOf(flags.classifier);
  await ctx.initBackend();
  const { runner, dir, close } = await openRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime });
  const clf = await loadClassifier(classifierDir);
  try {
    if (runner.config.numClasses === 0) throw new UsageError('agreement needs a class-conditional model');
    const options = generateOptionsFromFlags({ ...flags, perClass: flags.perClass ?? (flags.labels ? undefined : 10) }, runner.config.numClasses);
    const r = await generateWithProgress(ctx, runner, options, 'generate');
    const a = await classifierAgreement(clf, r.images, r.labels);
    const reference = await realReference(ctx, clf, a.perClass);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const referenceText = reference
      ? `\nthe classifier on its ${reference.images} real test images (${clf.config.data}): accuracy ${pct(reference.accuracy)}, class-balanced ${pct(reference.balancedAccuracy)} (beside an agreement of equal samples per class); this agreement at the test images' class shares: ${pct(reference.agreementAtRealShares)} (beside the accuracy)`
      : '';
    ctx.result(
      `classifier agreement ${pct(a.agreement)} on ${r.images.count} samples (${r.parameters.sampler}); per class: ${a.perClass.map((p, c) => `${className(runner.config, c)}: ${(p * 100).toFixed(0)}%`).join(', ')}${referenceText}`,
      { agreement: a.agreement, perClass: a.perClass, samples: r.images.count, sampler: r.parameters.sampler, parameters: r.parameters, checkpoint: dir, classifier: flags.classifier, ...(reference ? { reference } : {}) },
    );
  } finally {
    await clf.dispose();
    close();
  }
}

function metricCommand(name: string, description: string, metrics: SampleMetric[], ctx: () => CliContext, withOut = false): Command {
  const cmd = new Command(name)
    .description(description)
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--checkpoint <dir>', CHECKPOINT_FLAG_HELP, pathFlag('--checkpoint'))
    .option('--classifier <name|dir>', CLASSIFIER_FLAG_HELP, pathFlag('--classifier'))
    .option('--onnx <file>', 'ONNX feature network with its JSON sidecar (e.g. InceptionV3 for paper-comparable FID)', pathFlag('--onnx'))
    .option('--count <n>', 'generated images', intFlag('--count', 2), 1000)
    .option('--unconditional', 'generate without labels (default: classes in turn)')
    .option('--data <spec>', `real data: ${DATASET_SPEC_HELP} (default: the model's training data, else mnist)`)
    .option('--ref-split <split>', 'real split: train or test', choiceFlag('--ref-split', ['train', 'test'] as const), 'train')
    .option('--real-count <n>', 'real images (0: the whole split)', intFlag('--real-count', 0), 0)
    .option('--ref-stats <file>', 'cache of the real statistics (.safetensors; refused if the extractor differs)', pathFlag('--ref-stats'));
  if (withOut) cmd.requiredOption('--out <dir>', 'report directory', pathFlag('--out'));
  else addScaleOutFlags(cmd);
  return addSamplerFlags(cmd).action(async (flags: MetricFlags & ScaleOutFlags & { out: string }) => (withOut ? runReport(ctx(), flags) : runSampleMetrics(ctx(), metrics, flags)));
}

export function addSampleMetricCommands(ev: Command, ctx: () => CliContext): void {
  ev.command('train-classifier')
    .description('train the built-in feature network (optional 3×3 conv stages, then an MLP) on a dataset (its features give FID, its probabilities IS)')
    .option('--data <spec>', `dataset: ${DATASET_SPEC_HELP}`, 'mnist')
    .requiredOption('--out <dir>', 'output checkpoint directory', pathFlag('--out'))
    .option('--epochs <n>', 'epochs', intFlag('--epochs', 1), 8)
    .option('--batch-size <n>', 'images per step (default 128)', intFlag('--batch-size', 1))
    .option('--conv <list>', 'output channels of each conv stage (3×3 conv, ReLU, 2×2 max pool; default none: an MLP)', intListFlag('--conv', ClassifierConfigSchema.shape.conv))
    .option('--hidden <list>', 'hidden layer widths (default 512,256)', intListFlag('--hidden', ClassifierConfigSchema.shape.hidden))
    .option('--flip', 'also mirror half of the training images left–right')
    .option('--image-size <n>', 'for folder: data', intFlag('--image-size', 1))
    .option('--seed <n>', 'seed', intFlag('--seed', 0), 0)
    .addOption(forceOption('a classifier checkpoint'))
    .addHelpText('after', '\nExamples:\n  farmer eval train-classifier --data mnist --out classifiers/mnist\n  farmer eval train-classifier --data emoji --conv 32,64,128 --hidden 256 --out classifiers/emoji')
    .action(async (flags: TrainClassifierFlags) => runTrainClassifier(ctx(), flags));
  ev.addCommand(metricCommand('fid', 'Fréchet distance between generated and real features', ['fid'], ctx));
  ev.addCommand(metricCommand('kid', 'kernel inception distance (unbiased, polynomial kernel), mean ± std over subsets', ['kid'], ctx));
  ev.addCommand(metricCommand('is', 'Inception-style score of generated images (needs a classifier with probabilities)', ['is'], ctx));
  ev.addCommand(metricCommand('pr', 'k-NN precision and recall (k = 3)', ['pr'], ctx));
  ev.addCommand(metricCommand('report', 'one JSON and a PNG page: bits/dim, all metrics, a sample grid and the logdet histogram', ['fid', 'kid', 'is', 'pr'], ctx, true));
  const ag = new Command('agreement')
    .description('share of class-conditional samples that the classifier labels as the requested class')
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--checkpoint <dir>', CHECKPOINT_FLAG_HELP, pathFlag('--checkpoint'))
    .requiredOption('--classifier <name|dir>', CLASSIFIER_FLAG_HELP, pathFlag('--classifier'))
    .option('--per-class <n>', 'samples per class (default 10)', intFlag('--per-class', 1))
    .option('--labels <list>', 'explicit labels instead', intListFlag('--labels'));
  ev.addCommand(addSamplerFlags(ag).action(async (flags: SampleFlags & { classifier: string }) => runAgreement(ctx(), flags)));
  const ld = new Command('logdet')
    .description('per-sample AF logdet distribution on data and on samples; flags outliers')
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--checkpoint <dir>', CHECKPOINT_FLAG_HELP, pathFlag('--checkpoint'))
    .option('--count <n>', 'images of each kind', intFlag('--count', 2), 500)
    .option('--unconditional', 'generate without labels')
    .option('--data <spec>', "real data (test split; default: the model's training data, else mnist)")
    .option('--flagged-out <file>', 'grid PNG of the flagged samples', pathFlag('--flagged-out'))
    .option('--histogram <file>', 'histogram PNG', pathFlag('--histogram'));
  ev.addCommand(addSamplerFlags(ld).action(async (flags: SampleFlags & { data?: string; flaggedOut?: string; histogram?: string }) => runLogdet(ctx(), flags)));
}


