import { Command } from 'commander';
import { resolveCheckpointDir } from '@farmer/core';
import { loadFarmer, saveFarmer } from '@farmer/ar-gmm';
import type { CliContext } from '../context.js';

/** `farmer export weights`: a weights-only copy of a checkpoint (EMA weights by default), for shipping. */
export async function runExportWeights(ctx: CliContext, flags: { checkpoint: string; out: string; ema: boolean }): Promise<void> {
  await ctx.initBackend();
  const dir = resolveCheckpointDir(flags.checkpoint);
  const { readCheckpoint } = await import('@farmer/core');
  const ck = await readCheckpoint(dir, { parts: [] });
  const model = await loadFarmer(dir, { ema: flags.ema });
  try {
    await saveFarmer(flags.out, model, { meta: { exportedFrom: dir, weights: flags.ema && ck.parts.includes('ema') ? 'ema' : 'model', source: ck.config.meta }, training: ck.config.training });
  } finally {
    model.dispose();
  }
  ctx.result(`wrote ${flags.out} (weights only)`, { out: flags.out, from: dir });
}

export function exportCommand(ctx: () => CliContext): Command {
  const ex = new Command('export').description('export a checkpoint');
  ex.command('weights')
    .description('write a weights-only checkpoint (no optimizer state), taking the EMA weights when present')
    .requiredOption('--checkpoint <dir>', 'checkpoint or run directory')
    .requiredOption('--out <dir>', 'output checkpoint directory')
    .option('--no-ema', 'export the raw weights instead of the EMA weights')
    .addHelpText('after', '\nExample:\n  farmer export weights --checkpoint runs/small --out models/mnist-small')
    .action(async (flags: { checkpoint: string; out: string; ema: boolean }) => runExportWeights(ctx(), flags));
  return ex;
}
