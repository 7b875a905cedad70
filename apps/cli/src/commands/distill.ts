import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { DATASET_SPEC_HELP, loadDataset } from '@farmer/core';
import { distill, distillTfEngine, type DistillEvent } from '@farmer/distill';
import { distillEngineFor, type TrainEngineChoice } from '@farmer/onnx';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { forceRunOption, intFlag, numberFlag, pathFlag } from '../flags.js';
import { engineLayout, engineNote, engineOption, threadsOption, workersOption } from '../engine-flags.js';
import { loopSettingsOf, type LoopFlags } from '../loop-flags.js';
import { writeLossPlot } from '../plot.js';
import { formatSeconds } from '../progress.js';

interface DistillFlags extends LoopFlags {
  checkpoint?: string;
  out: string;
  resume?: boolean;
  force?: boolean;
  data: string;
  sMax?: number;
  attach: boolean;
  engine: TrainEngineChoice;
  workers?: number | 'auto';
  threads?: number;
}

export async function runDistill(ctx: CliContext, flags: DistillFlags): Promise<void> {
  if (flags.resume && flags.force) throw new UsageError('give --resume (continue the run in --out) or --force (start a new one over it), not both');
  await ctx.initBackend();
  const train = await loadDataset(flags.data, { split: 'train' });
  const test = await loadDataset(flags.data, { split: 'test' });
  const config = loopSettingsOf(flags);
  if (flags.sMax !== undefined) config.sMax = flags.sMax;
  const bar = ctx.progress('distill', 0, 'steps');
  const onEvent = (e: DistillEvent) => {
    if (e.type === 'step') {
      bar.setTotal(e.totalSteps);
      bar.update(e.step, `mse ${e.loss.toExponential(2)} ${e.imagesPerSec.toFixed(1)} img/s`);
    } else if (e.type === 'eval') ctx.note(`\nstep ${e.step}: student vs teacher inverse on test latents: mse ${e.mse.toExponential(3)}, mae ${e.mae.toExponential(3)}`);
  };
  const r = await distill({
    teacher: flags.checkpoint,
    outDir: resolve(flags.out),
    resume: flags.resume,
    force: flags.force,
    config,
    train,
    test,
    onEvent,
    handleSignals: true,
    attach: flags.attach,
    engine: distillEngineFor(flags.engine, distillTfEngine(), {
      ...engineLayout(ctx, flags, resolve(flags.out)),
      onChosen: (e) => {
        if (e.notice) ctx.note(`note: ${e.notice}`);
        ctx.note(engineNote(e));
      },
    }),
    meta: { command: process.argv.slice(1).join(' '), data: flags.data },
  });
  bar.stop();
  const plot = await writeLossPlot(join(resolve(flags.out), 'metrics.jsonl'), join(resolve(flags.out), 'distill-loss.png'), 'one-step distillation').catch(() => undefined);
  ctx.result(
    [
      `${r.stoppedBy === 'done' ? 'done' : r.stoppedBy === 'signal' ? 'interrupted; checkpoint written (resume with --resume)' : 'time budget reached'} at step ${r.steps} after ${formatSeconds(r.elapsedSeconds)}`,
      `checkpoint (teacher + student): ${r.checkpoint}`,
      r.attachedTo ? `student added to ${r.attachedTo}: sample with --decoder student` : '',
      plot ? `loss curve: ${plot}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
    r,
  );
}

export function distillCommand(ctx: () => CliContext): Command {
  return new Command('distill')
    .description("distil the AF inverse into a one-step student (the paper's Algorithm 2, docs/method.md §8 distillation)")
    .option('--checkpoint <dir>', 'teacher checkpoint or run directory (required for a new run)', pathFlag('--checkpoint'))
    .requiredOption('--out <dir>', 'distillation run directory (checkpoint/ with teacher + student, metrics.jsonl)', pathFlag('--out'))
    .option('--resume', 'continue the run in --out')
    .addOption(forceRunOption())
    .option('--data <spec>', `data: ${DATASET_SPEC_HELP}`, 'mnist')
    .option('--steps <n>', 'optimizer steps', intFlag('--steps', 1))
    .option('--batch-size <n>', 'batch size', intFlag('--batch-size', 1))
    .option('--lr <x>', 'peak learning rate (default 2e-4)', numberFlag('--lr', { min: 0, exclusiveMin: true }))
    .option('--s-max <x>', 'latent noise scale s ~ U[0, s_max] (default 0.3)', numberFlag('--s-max', { min: 0 }))
    .option('--seed <n>', 'seed', intFlag('--seed', 0))
    .option('--checkpoint-every <n>', 'checkpoint every N steps', intFlag('--checkpoint-every', 0))
    .option('--eval-every <n>', 'evaluate every N steps', intFlag('--eval-every', 0))
    .option('--time-budget <minutes>', 'stop after this many minutes', numberFlag('--time-budget', { min: 0, exclusiveMin: true }))
    .option('--no-attach', 'do not add the finished student to the teacher checkpoint')
    .addOption(engineOption())
    .addOption(workersOption())
    .addOption(threadsOption())
    .addHelpText('after', '\nExamples:\n  farmer distill --checkpoint runs/small --out runs/small-distill --steps 2000\n  farmer sample --checkpoint runs/small --decoder student\n\nCtrl-C writes a checkpoint; --resume continues.')
    .action(async (flags: DistillFlags) => runDistill(ctx(), flags));
}
