import { Command } from 'commander';
import { DATASET_SPEC_HELP, loadDataset } from '@farmer/core';
import { evaluateBpd, modelImageOptions } from '@farmer/ar-gmm';
import { RUNTIME_CHOICES, type RuntimeChoice } from '@farmer/runtime';
import type { CliContext } from '../context.js';
import { choiceFlag, intFlag, pathFlag } from '../flags.js';
import { CHECKPOINT_FLAG_HELP, MODEL_FLAG_HELP, modelDataSpec, openRunner, type ModelFlags } from '../model-open.js';

export interface EvalBpdFlags extends ModelFlags {
  /** Default: the data the model was trained on (see modelDataSpec), else mnist. */
  data?: string;
  split: 'train' | 'test';
  maxImages: number;
  batchSize: number;
  seed: number;
  ema: boolean;
  unconditional?: boolean;
  runtime: RuntimeChoice;
}

export async function runEvalBpd(ctx: CliContext, flags: EvalBpdFlags): Promise<void> {
  await ctx.initBackend();
  const { runner, likelihood, dir, close } = await openRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime, likelihood: true });
  try {
    const data = flags.data ?? modelDataSpec(dir) ?? 'mnist';
    const ds = await loadDataset(data, { split: flags.split, ...modelImageOptions(runner.config) });
    const bar = ctx.progress('eval bpd', flags.maxImages ? Math.min(flags.maxImages, ds.images.count) : ds.images.count, 'images');
    const r = await evaluateBpd(likelihood, ds, {
      maxImages: flags.maxImages,
      batchSize: flags.batchSize,
      seed: flags.seed,
      conditional: !flags.unconditional,
      onProgress: (done) => bar.update(done),
    });
    bar.stop();
    ctx.result(
      `${r.bpd.toFixed(4)} ± ${r.stderr.toFixed(4)} bits/dim (mean ± standard error) on ${r.images} ${flags.split} images of ${data}, uniform dequantisation, ${flags.unconditional ? 'null label' : 'true labels'}\ncheckpoint: ${dir}`,
      { ...r, checkpoint: dir, data, split: flags.split, conditional: !flags.unconditional, runtime: runner.runtime },
    );
  } finally {
    close();
  }
}

/** Adds a group of `eval` subcommands (the sample metrics, the likelihood evaluations): each group is its own command module, composed by the program. */
export type EvalSubcommands = (ev: Command, ctx: () => CliContext) => void;

/** `farmer eval`: `bpd` here, and the subcommands `groups` add (before it, in order). */
export function evalCommand(ctx: () => CliContext, groups: readonly EvalSubcommands[] = []): Command {
  const ev = new Command('eval').description('evaluate a checkpoint: bits/dim, Bayes classification, OOD scores, FID/KID/IS/precision-recall, logdet diagnostics');
  for (const add of groups) add(ev, ctx);
  ev.command('bpd')
    .description('test bits/dim (mean and standard error), uniform dequantisation')
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--checkpoint <dir>', CHECKPOINT_FLAG_HELP, pathFlag('--checkpoint'))
    .option('--data <spec>', `dataset: ${DATASET_SPEC_HELP} (default: the model's training data, else mnist)`)
    .option('--split <name>', 'train or test', choiceFlag('--split', ['train', 'test'] as const), 'test')
    .option('--max-images <n>', 'evaluate at most n images (0: all)', intFlag('--max-images', 0), 0)
    .option('--batch-size <n>', 'images per pass', intFlag('--batch-size', 1), 100)
    .option('--seed <n>', 'seed of the dequantisation noise', intFlag('--seed', 0), 0)
    .option('--unconditional', 'score with the null label instead of the true labels')
    .option('--no-ema', 'use the raw weights instead of the EMA weights (runs on tfjs)')
    .option('--runtime <name>', 'auto (onnxruntime whenever it loads, exporting the checkpoint on first use; else tfjs), onnx (an existing export only) or tfjs', choiceFlag('--runtime', RUNTIME_CHOICES), 'auto')
    .addHelpText('after', '\nExamples:\n  farmer eval bpd\n  farmer eval bpd --model fashion-small\n  farmer eval bpd --checkpoint runs/small --max-images 500 --json')
    .action(async (flags: EvalBpdFlags) => runEvalBpd(ctx(), flags));
  return ev;
}
