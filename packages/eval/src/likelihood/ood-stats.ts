import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FarmerError, writeFileAtomic } from '@farmer/core';
import { z } from 'zod';

/** The file beside a checkpoint's config.json (not in it, so exports stay fresh). */
export const OOD_STATS_FILE = 'ood-stats.json';
/** The `format` field of an `ood-stats.json` file. */
export const OOD_STATS_FORMAT = 'farmer-ood-stats';

/** The version this farmer-ts writes and reads: 2 added the PNG bits and the (BPD, PNG bits) Gaussian. */
export const OOD_STATS_VERSION = 2;

const MomentsSchema = z.object({ mean: z.number(), std: z.number().nonnegative() });
const pair = z.tuple([z.number(), z.number()]);
/** A 2-D Gaussian: mean [2] and a positive-definite covariance [2, 2]. */
const GaussianSchema = z
  .object({ mean: pair, covariance: z.tuple([pair, pair]) })
  .refine(({ covariance: [[a, b], [b2, c]] }) => a > 0 && c > 0 && b === b2 && a * c - b * b > 0, 'covariance must be symmetric positive definite');

/** Training-set statistics of the per-image scores, for the typicality scores (docs/method.md §5.5 OOD scores). */
export const OodStatsSchema = z.object({
  format: z.literal(OOD_STATS_FORMAT),
  version: z.literal(OOD_STATS_VERSION),
  /** Dataset spec and split the statistics come from. */
  data: z.string(),
  split: z.literal('train'),
  images: z.number().int().positive(),
  seed: z.number().int(),
  /** Training images left out for having no finite density (docs/method.md §5.2 Bits per dim). */
  excluded: z.number().int().nonnegative(),
  bitsPerDim: MomentsSchema,
  logdetPerDim: MomentsSchema,
  /** PNG bits per dimension (`pngBitsPerDim`). */
  pngBitsPerDim: MomentsSchema,
  /** The joint law of (bits/dim, PNG bits per dimension), for `complexityTypicality`. */
  complexity: GaussianSchema,
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

/** Mean [2] and covariance (n − 1) [2, 2] of the pairs (x_i, y_i). */
export function gaussian2(xs: ArrayLike<number>, ys: ArrayLike<number>): { mean: [number, number]; covariance: [[number, number], [number, number]] } {
  const n = xs.length;
  const mx = moments(xs).mean;
  const my = moments(ys).mean;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  const k = 1 / Math.max(1, n - 1);
  return { mean: [mx, my], covariance: [[sxx * k, sxy * k], [sxy * k, syy * k]] };
}

/** Writes the statistics beside the checkpoint (atomically). */
export async function writeOodStats(checkpointDir: string, stats: OodStats): Promise<string> {
  const path = join(checkpointDir, OOD_STATS_FILE);
  await writeFileAtomic(path, `${JSON.stringify(OodStatsSchema.parse(stats), null, 2)}\n`);
  return path;
}

/** The version of a parsed statistics file when it is ours but older than OOD_STATS_VERSION, else undefined. */
function olderVersion(raw: unknown): number | undefined {
  const { format, version } = (raw ?? {}) as { format?: unknown; version?: unknown };
  return format === OOD_STATS_FORMAT && typeof version === 'number' && version < OOD_STATS_VERSION ? version : undefined;
}

/** Whether a checkpoint's statistics file is there but of an older version than this farmer-ts reads (so `farmer eval ood` remakes it). */
export function oodStatsOutdated(checkpointDir: string): boolean {
  try {
    return olderVersion(JSON.parse(readFileSync(join(checkpointDir, OOD_STATS_FILE), 'utf8'))) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Reads a checkpoint's training-set statistics; missing, it is
 * FARMER_E_NOT_FOUND saying how to make them, corrupt, FARMER_E_CORRUPT.
 */
export function readOodStats(checkpointDir: string): OodStats {
  const path = join(checkpointDir, OOD_STATS_FILE);
  if (!existsSync(path)) {
    throw new FarmerError('FARMER_E_NOT_FOUND', `${path} does not exist: the typicality score needs the training set's bits/dim statistics; make them with \`farmer eval ood --checkpoint ${checkpointDir} --data <the training data> --ood-data <another dataset>\``, { file: path });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new FarmerError('FARMER_E_CORRUPT', `${path} is not JSON (${(e as Error).message}); delete it and run \`farmer eval ood\` again`, { file: path });
  }
  const version = olderVersion(raw);
  if (version !== undefined) {
    throw new FarmerError('FARMER_E_CORRUPT', `${path} is version ${version}, from an older farmer-ts, without the PNG statistics the OOD scores now need; remake it with \`farmer eval ood --checkpoint ${checkpointDir} --refresh-stats --ood-data <any dataset>\``, { file: path });
  }
  const r = OodStatsSchema.safeParse(raw);
  if (!r.success) throw new FarmerError('FARMER_E_CORRUPT', `${path} is not a ${OOD_STATS_FORMAT} file: ${r.error.issues[0]?.message}; delete it and run \`farmer eval ood\` again`, { file: path });
  return r.data;
}

/**
 * A checkpoint's statistics for callers to whom they are optional (an OOD column, a response
 * field): undefined when there is no file, and when it is outdated or corrupt, which
 * `onProblem` then hears with the message saying how to remake it.
 */
export function readOptionalOodStats(checkpointDir: string, onProblem?: (message: string) => void): OodStats | undefined {
  if (!existsSync(join(checkpointDir, OOD_STATS_FILE))) return undefined;
  try {
    return readOodStats(checkpointDir);
  } catch (e) {
    onProblem?.((e as Error).message);
    return undefined;
  }
}

/** The typicality score of docs/method.md §5.5 OOD scores: |bits/dim − training mean| (higher: less typical). */
export function typicality(bitsPerDim: ArrayLike<number>, stats: OodStats): Float64Array {
  return Float64Array.from(bitsPerDim, (v) => Math.abs(v - stats.bitsPerDim.mean));
}
