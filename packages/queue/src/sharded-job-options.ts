import type { ResolvedGenerateOptions } from '@farmer/sampling';
import type { ModelIdentity } from './model-identity.js';
import type { RedisLink } from './redis-connection.js';
import type { ShardSpec } from './shard-plan.js';
import type { ShardedProgress } from './sharded-run.js';

/** One shard's images as they come back: PNG bytes and labels, in image order. */
export interface ShardImages {
  pngs: Uint8Array[];
  labels: number[];
  /** The worker that drew them. */
  worker: string;
}

/** Options of {@link runShardedJob}: the Redis link, the model identity, the resolved options, the shard size, the destination and what takes each shard. */
export interface ShardedJobOptions {
  link: RedisLink;
  identity: ModelIdentity;
  /** The whole job's resolved options: count, labels and seed, and the sampler settings every shard uses. */
  options: ResolvedGenerateOptions;
  /** Images per shard: a multiple of `options.batchSize` (see `planShards`). */
  shardSize: number;
  /** Where the results go (host and folder, say): part of the run id, so two destinations never share shards. */
  destination: string;
  /**
   * Takes one shard's images (writes them, or keeps them). Called once per
   * shard, one shard at a time; the shard is acknowledged (recorded as
   * written in Redis) only after it resolves.
   */
  write: (shard: ShardSpec, images: ShardImages) => Promise<void>;
  /**
   * Whether a shard's output is still in place, for shards Redis records as
   * written by an earlier submission of the same run: true skips them. Omit
   * it when results are not kept (metrics): then every shard is collected.
   */
  alreadyWritten?: (shard: ShardSpec) => boolean;
  /**
   * 'written' (default): remove each shard's job from Redis once written.
   * 'finished': keep every result in Redis until the whole run is collected,
   * so a resubmission after a crash of this process reuses them all (for
   * results held in memory).
   */
  acknowledge?: 'written' | 'finished';
  /** Called as shards are written, with the images done and the total. */
  onProgress?: (p: ShardedProgress) => void;
  /** One-line notices: shards skipped, waiting for workers, retried attempts. */
  onNotice?: (line: string) => void;
  /** Attempts per shard (default 5): a worker that fails or dies costs one. */
  attempts?: number;
  /** How often the submitter checks workers and missed events, ms (default 2000). */
  pollMs?: number;
  signal?: AbortSignal;
}
