import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { ensureDirectory, writeFileAtomic } from '@farmer/core';
import { className } from '@farmer/ar-gmm';
import { connectRedis, redactRedisUrl, runShardedJob } from '@farmer/queue';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { intFlag, pathFlag } from '../flags.js';
import { CHECKPOINT_FLAG_HELP, MODEL_FLAG_HELP, openRunner } from '../model-open.js';
import {
  addSamplerFlags,
  addScaleOutFlags,
  checkRunSize,
  checkSampleOutputs,
  generateOptionFlag,
  generateOptionsFromFlags,
  generateWithProgress,
  SAMPLE_COUNT_LIMIT,
  sampleFileName,
  sidecarOf,
  submission,
  writeSamples,
  type SampleFlags,
  type ScaleOutFlags,
} from '../sampling/index.js';

/** The flags of `farmer sample`: the sampler's, and where the images go. */
export interface SampleCommandFlags extends SampleFlags, ScaleOutFlags {
  out: string;
  separate?: string;
  columns?: number;
}

export async function runSample(ctx: CliContext, flags: SampleCommandFlags): Promise<void> {
  checkSampleOutputs(flags);
  const asked = flags.count ?? flags.labels?.length;
  if (asked !== undefined) checkRunSize(asked, flags.maxCount);
  await ctx.initBackend();
  const { runner, dir, exported, fallback, close } = await openRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime });
  try {
    const options = generateOptionsFromFlags(flags, runner.config.numClasses);
    const f = runner.config.flow;
    checkRunSize(options.count!, flags.maxCount, f.inChannels * f.imageSize * f.imageSize);
    const result = await generateWithProgress(ctx, runner, options);
    const columns = flags.columns ?? (flags.perClass ? flags.perClass : undefined);
    const perClass = flags.perClass && runner.config.numClasses > 0 && !flags.unconditional && flags.columns === undefined ? { count: flags.perClass, className: (y: number) => className(runner.config, y) } : undefined;
    const { grid, files } = await writeSamples(result, flags.out, { separate: flags.separate, columns, perClass });
    const sidecar = sidecarOf(grid);
    const meta = { checkpoint: dir, grid, files, labels: Array.from(result.labels), parameters: result.parameters, timings: result.timings, redrawn: result.redrawn, runtime: result.runtime, backend: ctx.backend?.name, ...(exported ? { exported } : {}), ...(fallback ? { fallback } : {}) };
    await writeFileAtomic(sidecar, `${JSON.stringify(meta, null, 2)}\n`);
    const t = result.timings;
    ctx.result(
      `wrote ${result.images.count} samples (${result.parameters.sampler}) to ${grid}\nparameters: ${sidecar}\ntime: AR ${t.arSeconds.toFixed(2)} s, AF ${t.afSeconds.toFixed(2)} s (${(t.totalSeconds / result.images.count).toFixed(3)} s/image)${t.jacobiIterations ? `\nJacobi passes per block (0 … ${t.jacobiIterations.length - 1}): ${t.jacobiIterations.map((v) => v.toFixed(1)).join(', ')}` : ''}`,
      { ...meta, sidecar },
    );
  } finally {
    close();
  }
}

/**
 * `farmer sample --redis URL --separate DIR`: the job split into shards of
 * per-image seeds, drawn by workers, each shard's PNGs written into DIR as
 * it arrives (the same names and bytes as one process writes) and only then
 * acknowledged. A resubmission continues the run. No grid is drawn; the
 * JSON sidecar goes next to `--out`.
 */
export async function runShardedSample(ctx: CliContext, flags: SampleCommandFlags): Promise<void> {
  if (!flags.separate) throw new UsageError('--redis writes one PNG per image: give --separate DIR');
  if (flags.imageSeeds) throw new UsageError('--image-seeds draws a few chosen images; run it without --redis');
  checkSampleOutputs(flags);
  const dir = resolve(flags.separate);
  const link = await connectRedis(flags.redis!); // before the model opens: an unreachable Redis is said at once
  await ctx.initBackend();
  const opened = await openRunner(ctx, flags, { ema: flags.ema, runtime: flags.runtime });
  const bar = ctx.progress('sample', 0, 'images');
  try {
    const base = await submission(ctx, flags, link, opened, generateOptionsFromFlags({ ...flags, maxCount: Infinity }, opened.runner.config.numClasses), bar);
    const { options } = base;
    await ensureDirectory(dir);
    const file = (i: number, label: number): string => join(dir, sampleFileName(i, label));
    const labelOf = (i: number): number => options.labels?.[i] ?? -1;
    const r = await runShardedJob({
      ...base,
      destination: `${hostname()}:${dir}`,
      alreadyWritten: (s) => Array.from({ length: s.count }, (_, k) => s.start + k).every((i) => existsSync(file(i, labelOf(i)))),
      // A shard's files at once: each is fsynced, and their syncs overlap.
      write: async (s, images) => {
        await Promise.all(images.pngs.map((png, k) => writeFileAtomic(file(s.start + k, images.labels[k]), png)));
      },
    });
    bar.stop();
    const sidecar = sidecarOf(resolve(flags.out));
    const meta = { checkpoint: opened.dir, separate: dir, count: options.count, labels: options.labels, parameters: options, runtime: base.identity.runtime, scaleOut: { redis: redactRedisUrl(flags.redis!), model: base.identity.model, checkpointHash: base.identity.checkpointHash, ...r } };
    await writeFileAtomic(sidecar, `${JSON.stringify(meta, null, 2)}\n`);
    ctx.result(
      `wrote ${options.count} samples (${options.sampler}) into ${dir} in ${r.shards} shards (${r.skipped} from an earlier submission) on ${r.workers.length} worker(s) in ${r.seconds.toFixed(1)} s\nparameters: ${sidecar}`,
      { ...meta, sidecar },
    );
  } finally {
    bar.stop();
    opened.close();
  }
}

export function sampleCommand(ctx: () => CliContext): Command {
  const cmd = new Command('sample')
    .description('draw images from a checkpoint (default: the built-in model) into a grid PNG plus a JSON sidecar')
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--checkpoint <dir>', CHECKPOINT_FLAG_HELP, pathFlag('--checkpoint'))
    .addOption(generateOptionFlag('count', `number of images (default: one per label or image seed, else one per class; at most --max-count, ${SAMPLE_COUNT_LIMIT.toLocaleString('en-US')} unless raised)`))
    .addOption(generateOptionFlag('labels', 'class labels, comma-separated (one per image, or one for all)'))
    .option('--per-class <n>', 'n images of every class, one row per class', intFlag('--per-class', 1))
    .option('--unconditional', 'draw without class labels')
    .addOption(generateOptionFlag('imageSeeds', 'per-image seeds, comma-separated, overriding --seed (e.g. 7:3 draws image 3 of --seed 7 alone; all digits: an integer seed)'))
    .option('--out <file>', 'grid PNG', pathFlag('--out'), 'samples.png')
    .option('--separate <dir>', 'also write one PNG per image into this directory', pathFlag('--separate'))
    .option('--columns <n>', 'grid columns', intFlag('--columns', 1));
  return addScaleOutFlags(addSamplerFlags(cmd))
    .addHelpText(
      'after',
      `
Examples:
  farmer sample --per-class 4 --out digits.png
  farmer sample --checkpoint runs/small --labels 3,3,7,7 --cfg-w 1.5 --seed 7
  farmer sample --unconditional --count 16 --temperature 1.3 --scale 0.9 --separate out/
  farmer sample --labels 3 --image-seeds 7:5 --out again.png           # image 5 of --seed 7, alone
  farmer sample --redis redis://127.0.0.1:6379 --count 50000 --separate out/   # on farmer worker processes`,
    )
    .action(async (flags: SampleCommandFlags) => (flags.redis ? runShardedSample(ctx(), flags) : runSample(ctx(), flags)));
}
