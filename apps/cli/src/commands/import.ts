import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { FarmerError } from '@farmer/core';
import { importTarflowCheckpoint } from '@farmer/flow';
import type { CliContext } from '../context.js';
import { forceOption, pathFlag } from '../flags.js';

export async function runImportTarflow(ctx: CliContext, flags: { weights: string; config: string; out: string; force?: boolean }): Promise<void> {
  await ctx.initBackend();
  if (!existsSync(flags.config)) throw new FarmerError('FARMER_E_NOT_FOUND', `hyper-parameter file ${flags.config} does not exist`, { file: flags.config });
  let hyper: unknown;
  try {
    hyper = JSON.parse(readFileSync(flags.config, 'utf8'));
  } catch (e) {
    throw new FarmerError('FARMER_E_BAD_CONFIG', `${flags.config} is not valid JSON: ${(e as Error).message}`, { file: flags.config });
  }
  const r = await importTarflowCheckpoint(flags.weights, hyper, flags.out, { force: flags.force });
  const c = r.flow.config;
  r.flow.dispose();
  ctx.result(
    `imported ${flags.weights} → ${flags.out}: ${c.numBlocks} blocks × ${c.layersPerBlock} layers, width ${c.width}, ${c.numClasses} classes${r.priorVar ? ', learned prior variance kept as prior.var' : ''}; skipped buffers: ${r.skipped.length}`,
    { out: flags.out, config: c, skipped: r.skipped, priorVar: Boolean(r.priorVar) },
  );
}

export function importCommand(ctx: () => CliContext): Command {
  const im = new Command('import').description('import weights from other implementations');
  im.command('tarflow')
    .description('import a PyTorch TARFlow state dict (safetensors) into a farmer flow checkpoint')
    .requiredOption('--weights <file>', 'TARFlow state dict as .safetensors', pathFlag('--weights'))
    .requiredOption('--config <file>', 'JSON hyper-parameters: in_channels, img_size, patch_size, channels, num_blocks, layers_per_block, head_dim, num_classes, nvp', pathFlag('--config'))
    .requiredOption('--out <dir>', 'output checkpoint directory', pathFlag('--out'))
    .addOption(forceOption('a flow checkpoint'))
    .addHelpText('after', '\nExample:\n  farmer import tarflow --weights model.safetensors --config hparams.json --out imported/')
    .action(async (flags: { weights: string; config: string; out: string; force?: boolean }) => runImportTarflow(ctx(), flags));
  return im;
}
