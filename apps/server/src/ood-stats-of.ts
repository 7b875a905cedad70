import { resolveCheckpointDir } from '@farmer/core';
import { readOptionalOodStats, type OodStats } from '@farmer/eval';
import type { ModelEntry } from './model-registry.js';

const read = new WeakMap<ModelEntry, OodStats | null>();

/** The checkpoint directory a served folder holds (a run directory's checkpoint/), or the folder itself (an ONNX export). */
function checkpointDirOf(dir: string): string {
  try {
    return resolveCheckpointDir(dir);
  } catch {
    return dir;
  }
}

/**
 * A model's training statistics for the OOD score (its checkpoint's ood-stats.json), read
 * once. None, outdated or unreadable: undefined, and the responses leave the score out
 * (`onProblem` hears why once), since every other field still stands.
 */
export function oodStatsOf(entry: ModelEntry, onProblem?: (message: string) => void): OodStats | undefined {
  if (!read.has(entry)) read.set(entry, readOptionalOodStats(checkpointDirOf(entry.dir), onProblem) ?? null);
  return read.get(entry) ?? undefined;
}
