import { Command } from 'commander';
import { classify, modelImageOptions } from '@farmer/ar-gmm';
import { DATASET_SPEC_HELP, Rng, type U8Images } from '@farmer/core';
import { DEFAULT_OOD_SCORE, readOodStats, readOptionalOodStats, scoreClassified, typicality } from '@farmer/eval';
import type { RuntimeChoice } from '@farmer/runtime';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { loadSplit } from '../dataset-split.js';
import { choiceFlag, intFlag, numberFlag, numberListFlag } from '../flags.js';
import { assertImagesExist, readPngFiles } from '../image-inputs.js';
import { addModelOptions } from '../model-options.js';
import { openRunner, type ModelFlags } from '../model-open.js';

export interface ClassifyFlags extends ModelFlags {
  data?: string;
  split: 'train' | 'test';
  maxImages: number;
  batchSize: number;
  seed: number;
  temperature: number;
  prior?: number[];
  typicality?: boolean;
  ema: boolean;
  runtime: RuntimeChoice;
}

/** `farmer classify`: Bayes classification of PNG files or a dataset split (docs/method.md §5.4 Bayes classification). */
export async function runClassify(ctx: CliContext, inputs: string[], flags: ClassifyFlags): Promise<void> {
  if (inputs.length > 0 && flags.data) throw new UsageError('give PNG files or --data SPEC, not both');
  if (inputs.length === 0 && !flags.data) throw new UsageError('nothing to classify: give PNG files (farmer classify a.png b.png) or --data SPEC');
  assertImagesExist(inputs);
  await ctx.initBackend();
  const { runner, likelihood, dir, close } = await openRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime, likelihood: true });
  try {
    // The default OOD score whenever the model has its training statistics (every built-in does); --typicality insists on them.
    const stats = flags.typicality ? readOodStats(dir) : readOptionalOodStats(dir, (m) => ctx.note(`no ${DEFAULT_OOD_SCORE} column: ${m}`));
    let images: U8Images;
    let labels: Int32Array | undefined;
    let names: string[];
    if (flags.data) {
      const ds = await loadSplit(flags.data, flags.split, runner, flags.maxImages);
      images = ds.images;
      labels = ds.labels;
      names = Array.from({ length: images.count }, (_, i) => `${flags.data}[${i}]`);
    } else {
      images = readPngFiles(inputs, modelImageOptions(runner.config));
      names = inputs;
    }
    const bar = ctx.progress('classify', images.count, 'images');
    const r = await classify(likelihood, images, {
      temperature: flags.temperature,
      prior: flags.prior,
      rng: new Rng(`classify:${flags.seed}`),
      batchSize: flags.batchSize,
      onProgress: (done) => bar.update(done),
    });
    bar.stop();
    const K = r.numClasses;
    const typ = stats && flags.typicality ? typicality(r.bitsPerDim, stats) : undefined;
    const ood = stats ? (await scoreClassified(r, images, runner.config, stats)).scores[DEFAULT_OOD_SCORE] : undefined;
    const t = r.terms;
    const rows = names.map((input, i) => ({
      input,
      predicted: r.predicted[i],
      probability: r.posterior[i * K + r.predicted[i]],
      posterior: Array.from(r.posterior.subarray(i * K, (i + 1) * K)),
      logLikelihood: Array.from(r.logLik.subarray(i * K, (i + 1) * K)),
      bitsPerDim: r.bitsPerDim[i],
      terms: { informative: t.informative[i], redundant: t.redundant[i], logdet: t.logdet[i], total: t.total[i] },
      ...(ood ? { ood: { score: DEFAULT_OOD_SCORE, value: ood[i] } } : {}),
      ...(typ ? { typicality: typ[i] } : {}),
      ...(labels ? { label: labels[i] } : {}),
    }));
    const accuracy = labels ? rows.filter((x) => x.predicted === x.label).length / rows.length : undefined;
    const head = ['image', 'class', 'p(class|x)', 'bits/dim', ...(ood ? [DEFAULT_OOD_SCORE] : []), ...(typ ? ['typicality'] : []), ...(labels ? ['label'] : [])];
    const table = rows.map((x) => [x.input, String(x.predicted), x.probability.toFixed(4), x.bitsPerDim.toFixed(4), ...(ood ? [x.ood!.value.toFixed(4)] : []), ...(typ ? [x.typicality!.toFixed(4)] : []), ...(labels ? [String(x.label)] : [])]);
    const widths = head.map((h, c) => Math.max(h.length, ...table.map((t) => t[c].length)));
    const line = (cells: string[]) => cells.map((s, c) => s.padEnd(widths[c])).join('  ').trimEnd();
    const footer = accuracy === undefined ? '' : `\naccuracy ${(100 * accuracy).toFixed(2)}% of ${rows.length}`;
    ctx.result([line(head), ...table.map(line)].join('\n') + footer + `\ntemperature ${flags.temperature}, uniform dequantisation (seed ${flags.seed}), runtime ${runner.runtime}, checkpoint ${dir}`, {
      checkpoint: dir,
      runtime: runner.runtime,
      temperature: flags.temperature,
      seed: flags.seed,
      ...(accuracy === undefined ? {} : { accuracy }),
      images: rows,
    });
  } finally {
    close();
  }
}

export function classifyCommand(ctx: () => CliContext): Command {
  const cmd = new Command('classify')
    .description("classify images by Bayes' rule with the model's exact likelihood: p(y|x) ∝ p(x|y)·p(y)")
    .argument('[images...]', "PNG files of the model's size: transparent pixels are composited on the model's background, a grey PNG is replicated for a colour model, a colour PNG becomes its luma for a grey one (docs/method.md §2.6 Transparency)")
    .option('--data <spec>', `classify a dataset split instead: ${DATASET_SPEC_HELP}`)
    .option('--split <name>', 'train or test (with --data)', choiceFlag('--split', ['train', 'test'] as const), 'test')
    .option('--max-images <n>', 'with --data: at most n images, evenly spaced over the split (0: all)', intFlag('--max-images', 0), 0)
    .option('--temperature <t>', 'temperature of the likelihood in the posterior (fit one with `farmer eval classify`)', numberFlag('--temperature', { min: 0, exclusiveMin: true }), 1)
    .option('--prior <p,...>', 'class prior, one positive weight per class (default uniform)', numberListFlag('--prior'))
    .option('--typicality', `also report the typicality |bits/dim − training mean| (needs the training statistics from \`farmer eval ood\`; with them, ${DEFAULT_OOD_SCORE} is always reported)`);
  return addModelOptions(cmd)
    .addHelpText('after', '\nExamples:\n  farmer classify digit.png\n  farmer classify --data mnist --max-images 100 --json\n  farmer classify a.png --temperature 30 --typicality')
    .action(async (images: string[], flags: ClassifyFlags) => runClassify(ctx(), images, flags));
}
