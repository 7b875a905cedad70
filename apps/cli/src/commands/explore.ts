import { Command } from 'commander';
import { loadDataset, resolveCheckpointDir, writeFileAtomic } from '@farmer/core';
import { loadFarmer, modelImageOptions } from '@farmer/ar-gmm';
import { separationExperiment } from '@farmer/eval';
import type { CliContext } from '../context.js';
import { labelledFigure } from '../figure.js';
import { intFlag, intListFlag, numberListFlag, pathFlag } from '../flags.js';
import { CHECKPOINT_FLAG_HELP, MODEL_FLAG_HELP, modelDirOf } from '../model-open.js';

export interface SeparationFlags {
  checkpoint?: string;
  /** A built-in model by name (see MODEL_FLAG_HELP). */
  model?: string;
  data: string;
  count: number;
  strengths: number[];
  blocks?: number[];
  seed: number;
  out: string;
}

export async function runSeparation(ctx: CliContext, flags: SeparationFlags): Promise<void> {
  await ctx.initBackend();
  const dir = resolveCheckpointDir(modelDirOf(flags).dir);
  const model = await loadFarmer(dir, { ema: true });
  try {
    const ds = await loadDataset(flags.data, { split: 'test', ...modelImageOptions(model.config) });
    const n = Math.min(flags.count, ds.images.count);
    const per = ds.images.height * ds.images.width * ds.images.channels;
    const images = { ...ds.images, data: ds.images.data.slice(0, n * per), count: n };
    ctx.note(`perturbing the latents of ${n} images after each AF block (redundant channels: ${model.config.ar.informativeDim}..${model.dims.tokenDim - 1} of each token)`);
    const r = await separationExperiment(model.flow, images, { strengths: flags.strengths, informativeDim: model.config.ar.informativeDim, blocks: flags.blocks, seed: flags.seed });
    const png = await labelledFigure(
      r.rows.map((row) => ({ label: `block ${row.block} ${row.mode}`, cells: row.images })),
      r.strengths.map((s) => `λ = ${s}`),
      { title: 'Information separation: noise in redundant channels (partial) vs all channels (full)' },
    );
    await writeFileAtomic(flags.out, png);
    ctx.result(`wrote ${flags.out}: ${r.rows.length} rows (blocks × partial/full) × ${r.strengths.length} strengths, ${n} images each`, { out: flags.out, rows: r.rows.map((x) => ({ block: x.block, mode: x.mode })), strengths: r.strengths, checkpoint: dir });
  } finally {
    model.dispose();
  }
}

export function exploreCommand(ctx: () => CliContext): Command {
  const ex = new Command('explore').description('experiments that look inside a model');
  ex.command('separation')
    .description("reproduce the paper's information-separation figure: noise in the redundant vs all channels of each block's latent")
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--checkpoint <dir>', CHECKPOINT_FLAG_HELP, pathFlag('--checkpoint'))
    .option('--data <spec>', 'images to use (test split)', 'mnist')
    .option('--count <n>', 'images', intFlag('--count', 1), 4)
    .option('--strengths <list>', 'noise strengths λ in [0, 1]', numberListFlag('--strengths'), [0, 0.25, 0.5, 0.75, 1])
    .option('--blocks <list>', 'AF blocks to perturb (default all)', intListFlag('--blocks'))
    .option('--seed <n>', 'noise seed', intFlag('--seed', 0), 0)
    .option('--out <file>', 'figure PNG', pathFlag('--out'), 'separation.png')
    .addHelpText('after', '\nExample:\n  farmer explore separation --count 4 --out separation.png')
    .action(async (flags: SeparationFlags) => runSeparation(ctx(), flags));
  return ex;
}
