import { FarmerError } from '@farmer/core';
import type { Figures } from './objective.js';

/** Sizes of W shards of a batch of B: as even as possible, larger ones first. */
export function shardSizes(batch: number, workers: number): number[] {
  const base = Math.floor(batch / workers);
  return Array.from({ length: workers }, (_, i) => base + (i < batch % workers ? 1 : 0));
}

/** Figures of several shards, each weighted by its share of the batch (in this order, so the sum is reproducible). */
export function meanFigures(parts: { figures: Figures; weight: number }[], total: number): Figures {
  const out: Figures = {};
  for (const key of Object.keys(parts[0].figures)) {
    const first = parts[0].figures[key];
    out[key] = Array.isArray(first)
      ? first.map((_, j) => parts.reduce((s, p) => s + (p.weight / total) * (p.figures[key] as number[])[j], 0))
      : parts.reduce((s, p) => s + (p.weight / total) * (p.figures[key] as number), 0);
  }
  return out;
}


/** Shard sizes of a data-parallel step; a batch smaller than the replicas is a user error (an empty shard has no mean). */
export function batchShards(batch: number, replicas: number): number[] {
  const sizes = shardSizes(batch, replicas);
  if (sizes.some((s) => s === 0)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `batch ${batch} is smaller than the ${replicas} workers; raise the batch size or use fewer workers`, { field: 'workers' });
  }
  return sizes;
}

/** A batch whose typed-array fields are copies (shards are views into the whole batch; transferring would detach it). */
export function copyArrays<T>(batch: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(batch as Record<string, unknown>)) out[k] = ArrayBuffer.isView(v) ? (v as Float32Array).slice() : v;
  return out as T;
}

