import { Command } from 'commander';
import { join } from 'node:path';
import { resolveCheckpointDir } from '@farmer/core';
import { exportOnnx } from '@farmer/onnx';
import { loadFarmer, saveFarmer } from '@farmer/ar-gmm';
import type { CliContext } from '../context.js';
import { forceOption, pathFlag } from '../flags.js';
import { CHECKPOINT_FLAG_HELP, MODEL_FLAG_HELP, modelDirOf } from '../model-open.js';

/** `farmer export weights`: a weights-only copy of a checkpoint (EMA weights by default), for shipping. */
export async function runExportWeights(ctx: CliContext, flags: { checkpoint: string; out: string; ema: boolean; force?: boolean }): Promise<void> {
  await ctx.initBackend();
  const dir = resolveCheckpointDir(flags.checkpoint);
  const { readCheckpoint } = await import('@farmer/core');
  const ck = await readCheckpoint(dir, { parts: [] });
  const model = await loadFarmer(dir, { ema: flags.ema });
  try {
    await saveFarmer(flags.out, model, { meta: { exportedFrom: dir, weights: flags.ema && ck.parts.includes('ema') ? 'ema' : 'model', source: ck.config.meta }, training: ck.config.training, force: flags.force });
  } finally {
    model.dispose();
  }
  ctx.result(`wrote ${flags.out} (weights only)`, { out: flags.out, from: dir });
}

/** `farmer export onnx`: the ONNX export (graphs, weights, manifest) the onnx runtime and the server use. */
export async function runExportOnnx(ctx: CliContext, flags: { checkpoint?: string; model?: string; out?: string; ema: boolean; force?: boolean }): Promise<void> {
  await ctx.initBackend();
  const dir = resolveCheckpointDir(modelDirOf(flags).dir);
  const out = flags.out ?? join(dir, 'onnx');
  const bar = ctx.progress('export onnx', 1, 'graphs');
  const r = await exportOnnx(dir, out, { ema: flags.ema, force: flags.force, onProgress: (p: { done: number; total: number }) => (bar.setTotal(p.total), bar.update(p.done)) });
  bar.stop();
  const graphs = Object.keys(r.manifest.graphs ?? {});
  ctx.result(
    `exported ${dir} → ${r.dir}: ${graphs.length} graphs (opset ${r.manifest.opset}), manifest.json with SHA-256 of every file\nfarmer sample, eval, demo and serve run it on onnxruntime by default while it is up to date (--runtime auto); --runtime onnx insists on it`,
    { dir: r.dir, from: dir, graphs, opset: r.manifest.opset },
  );
}

export function exportCommand(ctx: () => CliContext): Command {
  const ex = new Command('export').description('export a checkpoint');
  ex.command('onnx')
    .description('write the ONNX export (AF forward/reverse, AR step, student) that onnxruntime runs (--runtime auto makes one on first use)')
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--checkpoint <dir>', CHECKPOINT_FLAG_HELP, pathFlag('--checkpoint'))
    .option('--out <dir>', 'export directory (default: <checkpoint>/onnx, where the server looks)', pathFlag('--out'))
    .option('--no-ema', 'export the raw weights instead of the EMA weights')
    .addOption(forceOption('an ONNX export'))
    .addHelpText('after', '\nExamples:\n  farmer export onnx --checkpoint runs/small\n  farmer sample --checkpoint runs/small --runtime onnx\n  farmer serve --models runs/')
    .action(async (flags: { checkpoint?: string; model?: string; out?: string; ema: boolean; force?: boolean }) => runExportOnnx(ctx(), flags));
  ex.command('weights')
    .description('write a weights-only checkpoint (no optimizer state), taking the EMA weights when present')
    .requiredOption('--checkpoint <dir>', 'checkpoint or run directory', pathFlag('--checkpoint'))
    .requiredOption('--out <dir>', 'output checkpoint directory', pathFlag('--out'))
    .option('--no-ema', 'export the raw weights instead of the EMA weights')
    .addOption(forceOption('a FARMER checkpoint'))
    .addHelpText('after', '\nExample:\n  farmer export weights --checkpoint runs/small --out small-weights')
    .action(async (flags: { checkpoint: string; out: string; ema: boolean; force?: boolean }) => runExportWeights(ctx(), flags));
  return ex;
}
