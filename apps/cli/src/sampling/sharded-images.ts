import { hostname } from 'node:os';
import type { Command } from 'commander';
import { decodePng, type U8Images } from '@farmer/core';
import { checkpointHash, connectRedis, DEFAULT_SHARD_BATCHES, runShardedJob, type RedisLink, type ShardedJobOptions } from '@farmer/queue';
import { discoverModels } from '@farmer/runtime';
import { resolveGenerateOptions, type GenerateOptions } from '@farmer/sampling';
import type { CliContext } from '../context.js';
import { intFlag } from '../flags.js';
import type { OpenRunnerResult } from '../model-open.js';
import type { ProgressBar } from '../progress.js';

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
export type Submission = Omit<ShardedJobOptions, 'destination' | 'write'>;

/**
 * Resolves the job against the model opened here, as one
 * process would (labels, sampler settings, decoder, runtime), and names its
 * identity; the images are drawn by the workers.
 */
export async function submission(ctx: CliContext, flags: ScaleOutFlags, link: RedisLink, opened: OpenRunnerResult, options: GenerateOptions, bar: ProgressBar): Promise<Submission> {
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
