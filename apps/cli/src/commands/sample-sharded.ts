import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { decodePng, ensureDirectory, writeFileAtomic, type U8Images } from '@farmer/core';
import { checkpointHash, connectRedis, DEFAULT_SHARD_BATCHES, redactRedisUrl, runShardedJob, type RedisLink, type ShardedJobOptions } from '@farmer/queue';
import { discoverModels } from '@farmer/runtime';
import { resolveGenerateOptions, type GenerateOptions } from '@farmer/sampling';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { intFlag } from '../flags.js';
import { openRunner, type OpenRunnerResult } from '../model-open.js';
import type { ProgressBar } from '../progress.js';
import { checkSampleOutputs, generateOptionsFromFlags, sampleFileName, type SampleFlags } from './sample.js';

/** The flags of a sharded run, added to `sample` and the sample metrics. */
export interface ScaleOutFlags {
  redis?: string;
  shardSize?: number;
}

/** Adds `--redis` and `--shard-size` to a command that draws samples. */
export function addScaleOutFlags(cmd: Command): Command {
  return cmd
    .option('--redis <url>', 'draw on `farmer worker` processes through this Redis (redis://[:PASSWORD@]HOST[:PORT][/DB]), in shards; no per-run count limit')
    .option('--shard-size <n>', 'with --redis: images per shard, a multiple of --batch-size (default 4 batches)', intFlag('--shard-size', 1));
}

/** A sharded run's options but where its results go. */
type Submission = Omit<ShardedJobOptions, 'destination' | 'write'>;

/**
 * Resolves the job against the model opened here, as one
 * process would (labels, sampler settings, decoder, runtime), and names its
 * identity; the images are drawn by the workers.
 */
async function submission(ctx: CliContext, flags: ScaleOutFlags, link: RedisLink, opened: OpenRunnerResult, options: GenerateOptions, bar: ProgressBar): Promise<Submission> {
  const resolved = resolveGenerateOptions(opened.runner, options);
  const identity = { model: discoverModels(opened.dir)[0].name, checkpointHash: await checkpointHash(opened.dir), runtime: opened.runner.runtime };
  bar.setTotal(resolved.count);
  return {
    link,
    identity,
    options: resolved,
    shardSize: flags.shardSize ?? resolved.batchSize * DEFAULT_SHARD_BATCHES,
    onProgress: (p) => bar.update(p.imagesDone, `${p.shardsDone}/${p.shards} shards, ${p.workers} worker(s)`),
    onNotice: (line) => ctx.note(line),
  };
}

/**
 * `farmer sample --redis URL --separate DIR`: the job split into shards of
 * per-image seeds, drawn by workers, each shard's PNGs written into DIR as
 * it arrives (the same names and bytes as one process writes) and only then
 * acknowledged. A resubmission continues the run. No grid is drawn; the
 * JSON sidecar goes next to `--out`.
 */
export async function runShardedSample(ctx: CliContext, flags: SampleFlags & ScaleOutFlags): Promise<void> {
  if (!flags.separate) throw new UsageError('--redis writes one PNG per image: give --separate DIR');
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
    const grid = resolve(flags.out);
    const sidecar = `${grid.replace(/\.png$/i, '')}.json`;
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

/**
 * Images for the sample metrics, drawn by workers in shards and gathered
 * here in memory (their results stay in Redis until all have arrived, so
 * a resubmission after a crash reuses them).
 */
export async function shardedImages(ctx: CliContext, flags: ScaleOutFlags, opened: OpenRunnerResult, options: GenerateOptions): Promise<U8Images> {
  const bar = ctx.progress('generate', 0, 'images');
  try {
    const base = await submission(ctx, flags, await connectRedis(flags.redis!), opened, options, bar);
    const f = opened.runner.config.flow;
    const channels = f.inChannels as 1 | 3;
    const per = f.imageSize * f.imageSize * channels;
    const images: U8Images = { data: new Uint8Array(base.options.count * per), count: base.options.count, height: f.imageSize, width: f.imageSize, channels };
    await runShardedJob({
      ...base,
      destination: `${hostname()}:memory`,
      acknowledge: 'finished',
      write: async (s, shard) => {
        shard.pngs.forEach((png, k) => images.data.set(decodePng(png, channels).data, (s.start + k) * per));
      },
    });
    return images;
  } finally {
    bar.stop();
  }
}
