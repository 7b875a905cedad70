import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FarmerError, writeFileAtomic } from '@farmer/core';
import { z } from 'zod';

/** The file beside a checkpoint's config.json (not in it, so exports stay fresh). */
export const OOD_STATS_FILE = 'ood-stats.json';
/** The `format` field of an `ood-stats.json` file. */
export const OOD_STATS_FORMAT = 'farmer-ood-stats';

const MomentsSchema = z.object({ mean: z.number(), std: z.number().nonnegative() });

/** Training-set statistics of the per-image scores, for the typicality score. */
export const OodStatsSchema = z.object({
  format: z.literal(OOD_STATS_FORMAT),
  version: z.literal(1),
  /** Dataset spec and split the statistics come from. */
  data: z.string(),
  split: z.literal('train'),
  images: z.number().int().positive(),
  seed: z.number().int(),
  bitsPerDim: MomentsSchema,
  logdetPerDim: MomentsSchema,
});
/** Training-set moments of the per-image scores (bits/dim, logdet per dim), as stored in `ood-stats.json`. */
export type OodStats = z.infer<typeof OodStatsSchema>;

/** Mean and standard deviation (n − 1) of a sample. */
export function moments(xs: ArrayLike<number>): { mean: number; std: number } {
  const n = xs.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += xs[i] / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i] - mean) ** 2;
  return { mean, std: Math.sqrt(ss / Math.max(1, n - 1)) };
}

/** Writes the statistics beside the checkpoint (atomically). */
export async function writeOodStats(checkpointDir: string, stats: OodStats): Promise<string> {
  const path = join(checkpointDir, OOD_STATS_FILE);
  await writeFileAtomic(path, `${JSON.stringify(OodStatsSchema.parse(stats), null, 2)}\n`);
  return path;
}

/**
 * Reads a checkpoint's training-set statistics; missing, it is
 * FARMER_E_NOT_FOUND saying how to make them, corrupt, FARMER_E_CORRUPT.
 */
export function readOodStats(checkpointDir: string): OodStats {
  const path = join(checkpointDir, OOD_STATS_FILE);
  if (!existsSync(path)) {
    throw new FarmerError('FARMER_E_NOT_FOUND', `${path} does not exist: the typicality score needs the training set's bits/dim statistics; make them with \`farmer eval ood --checkpoint ${checkpointDir} --data <the training data>\``, { file: path });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FarmerError('FARMER_E_CORRUPT', `${path} is not JSON (${(e as Error).message}); delete it and run \`farmer eval ood\` again`, { file: path });
  }
  const r = OodStatsSchema.safeParse(raw);
  if (!r.success) throw new FarmerError('FARMER_E_CORRUPT', `${path} is not a ${OOD_STATS_FORMAT} file: ${r.error.issues[0]?.message}; delete it and run \`farmer eval ood\` again`, { file: path });
  return r.data;
}

/** The typicality score of docs/method.md §5.5 OOD scores: |bits/dim − training mean| (higher: less typical). */
export function typicality(bitsPerDim: ArrayLike<number>, stats: OodStats): Float64Array {
  return Float64Array.from(bitsPerDim, (v) => Math.abs(v - stats.bitsPerDim.mean));
}
