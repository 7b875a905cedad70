import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OOD_STATS_FILE, readOodStats, type OodStats } from '@farmer/eval';
import type { ModelEntry } from './model-registry.js';

const read = new WeakMap<ModelEntry, OodStats | null>();

/**
 * A model's training statistics for the OOD score (its ood-stats.json), read once. None,
 * outdated or unreadable: undefined, and the responses leave the score out (`onProblem`
 * hears why once), since every other field still stands.
 */
export function oodStatsOf(entry: ModelEntry, onProblem?: (message: string) => void): OodStats | undefined {
  if (!read.has(entry)) {
    let stats: OodStats | null = null;
    if (existsSync(join(entry.dir, OOD_STATS_FILE))) {
      try {
        stats = readOodStats(entry.dir);
      } catch (e) {
        onProblem?.((e as Error).message);
      }
    }
    read.set(entry, stats);
  }
  return read.get(entry) ?? undefined;
}
