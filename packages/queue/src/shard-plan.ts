import { createHash } from 'node:crypto';
import { FarmerError } from '@farmer/core';
import type { ResolvedGenerateOptions } from '@farmer/sampling';
import type { ModelIdentity } from './model-identity.js';

/** One shard of a job: images `start .. start + count - 1`. */
export interface ShardSpec {
  index: number;
  start: number;
  count: number;
}

/** Generation batches per shard by default: 64 images at the default batch size of 16, so 782 shards for 50,000 images. */
export const DEFAULT_SHARD_BATCHES = 4;

/**
 * Splits `count` images into shards of `shardSize` (the last one shorter).
 * `shardSize` must be a multiple of the generation batch size, so that every
 * shard draws the same passes as one process drawing the whole job (its
 * batches start at multiples of `batchSize` too): FARMER_E_BAD_INPUT
 * otherwise.
 */
export function planShards(count: number, shardSize: number, batchSize: number): ShardSpec[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `a sharded job needs a positive image count, got ${count}`, { field: 'count' });
  if (!Number.isSafeInteger(shardSize) || shardSize < 1 || shardSize % batchSize !== 0) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `--shard-size must be a positive multiple of the batch size (${batchSize}), so that shards draw the same passes as one process; got ${shardSize}`, { field: 'shardSize' });
  }
  return Array.from({ length: Math.ceil(count / shardSize) }, (_, index) => ({ index, start: index * shardSize, count: Math.min(shardSize, count - index * shardSize) }));
}

/**
 * The id of a sharded run: a hash of everything that decides its images
 * (model identity, resolved options with labels and seed, shard size) and
 * where they go (`destination`). The same command resubmitted gets the same
 * id, so it finds the shards already done; any other change starts afresh.
 */
export function shardedRunId(identity: ModelIdentity, options: ResolvedGenerateOptions, shardSize: number, destination: string): string {
  return createHash('sha256').update(JSON.stringify({ identity, options, shardSize, destination })).digest('hex').slice(0, 16);
}
