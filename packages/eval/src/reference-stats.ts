import { promises as fs } from 'node:fs';
import { checkU8Images, decodeSafetensors, encodeSafetensors, FarmerError, sliceImages, writeFileAtomic, type U8Images } from '@farmer/core';
import type { ExtractOptions, ExtractorIdentity, FeatureExtractor } from './feature-extractor.js';
import { checkFeatureStats, FeatureStatsAccumulator, type FeatureStats } from './feature-stats.js';

/** `format` in the file's metadata. */
export const REFERENCE_STATS_FORMAT = 'farmer-eval-reference-stats';
/** `version` in the file's metadata; readers refuse newer versions. */
export const REFERENCE_STATS_VERSION = 1;

/**
 * Feature statistics of a reference set (e.g. the training images), tied to
 * the extractor that produced them, so FID is never computed against
 * statistics from a different network or preprocessing.
 */
export interface ReferenceStats extends FeatureStats {
  extractor: ExtractorIdentity;
  /** Free-form description of the image set, e.g. 'mnist:train'. */
  source?: string;
}

/**
 * Serialises reference statistics as safetensors: F64 tensors `mean` `[f]`
 * and `cov` `[f, f]`, with format, version, count, dim, extractor_id,
 * extractor_hash and source in `__metadata__`.
 */
export function encodeReferenceStats(ref: ReferenceStats): Uint8Array {
  checkFeatureStats(ref, 'reference statistics');
  checkIdentity(ref.extractor, 'reference statistics extractor');
  const f = ref.dim;
  const metadata: Record<string, string> = {
    format: REFERENCE_STATS_FORMAT,
    version: String(REFERENCE_STATS_VERSION),
    count: String(ref.count),
    dim: String(f),
    extractor_id: ref.extractor.id,
    extractor_hash: ref.extractor.hash,
  };
  if (ref.source !== undefined) metadata.source = ref.source;
  return encodeSafetensors(
    {
      mean: { dtype: 'F64', shape: [f], data: ref.mean },
      cov: { dtype: 'F64', shape: [f, f], data: ref.cov },
    },
    metadata,
  );
}

/**
 * Parses and validates a reference statistics file. `file` names it in errors.
 * Does not check the extractor; {@link loadReferenceStats} does.
 */
export function decodeReferenceStats(bytes: Uint8Array, file = 'reference statistics'): ReferenceStats {
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  const corrupt = (msg: string): never => {
    throw new FarmerError('FARMER_E_CORRUPT', `${file}: ${msg}; recompute the reference statistics`, { file });
  };
  if (metadata.format !== REFERENCE_STATS_FORMAT) {
    corrupt(`not a reference statistics file (metadata format is ${JSON.stringify(metadata.format)}, expected '${REFERENCE_STATS_FORMAT}')`);
  }
  const version = Number(metadata.version);
  if (!Number.isInteger(version) || version < 1) corrupt(`bad version ${JSON.stringify(metadata.version)}`);
  if (version > REFERENCE_STATS_VERSION) {
    throw new FarmerError('FARMER_E_VERSION', `${file}: reference statistics version ${version} is newer than this reader (${REFERENCE_STATS_VERSION}); upgrade @farmer/eval`, {
      file,
    });
  }
  const dim = Number(metadata.dim);
  const count = Number(metadata.count);
  if (!Number.isInteger(dim) || dim < 1 || !Number.isInteger(count) || count < 2) corrupt(`bad dim/count metadata (${metadata.dim}, ${metadata.count})`);
  const { mean, cov } = tensors;
  if (!mean || mean.dtype !== 'F64' || mean.shape.length !== 1 || mean.shape[0] !== dim) corrupt(`needs an F64 tensor 'mean' of shape [${dim}]`);
  if (!cov || cov.dtype !== 'F64' || cov.shape.length !== 2 || cov.shape[0] !== dim || cov.shape[1] !== dim) {
    corrupt(`needs an F64 tensor 'cov' of shape [${dim}, ${dim}]`);
  }
  if (!metadata.extractor_id || !metadata.extractor_hash) corrupt('metadata lacks extractor_id/extractor_hash');
  const ref: ReferenceStats = {
    mean: mean.data as Float64Array,
    cov: cov.data as Float64Array,
    count,
    dim,
    extractor: { id: metadata.extractor_id, hash: metadata.extractor_hash },
  };
  if (metadata.source !== undefined) ref.source = metadata.source;
  return ref;
}

/** Writes reference statistics to `path` atomically (temp file + rename). */
export async function saveReferenceStats(path: string, ref: ReferenceStats): Promise<void> {
  await writeFileAtomic(path, encodeReferenceStats(ref));
}

/** Options for {@link loadReferenceStats}. */
export interface LoadReferenceStatsOptions {
  /** The extractor in use; statistics made by any other are refused. */
  extractor: ExtractorIdentity;
}

/**
 * Loads reference statistics and refuses them (FARMER_E_BAD_INPUT, details
 * `reason: 'stale-reference-stats'`) when they were computed with a different
 * extractor than the one in use.
 */
export async function loadReferenceStats(path: string, opts: LoadReferenceStatsOptions): Promise<ReferenceStats> {
  checkIdentity(opts?.extractor, 'loadReferenceStats: opts.extractor');
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FarmerError('FARMER_E_NOT_FOUND', `reference statistics ${path} do not exist; compute them once from the reference images`, { file: path });
    }
    throw e;
  }
  const ref = decodeReferenceStats(bytes, path);
  checkExtractorMatch(ref.extractor, opts.extractor, path);
  return ref;
}

/** Throws the "stale reference statistics" error unless `found` and `expected` are the same extractor. */
export function checkExtractorMatch(found: ExtractorIdentity, expected: ExtractorIdentity, file: string): void {
  if (found.id === expected.id && found.hash === expected.hash) return;
  const what =
    found.id === expected.id
      ? `a feature extractor named '${found.id}' like the one in use, but with different weights or preprocessing (hash ${short(found.hash)} ≠ ${short(expected.hash)})`
      : `feature extractor '${found.id}' (hash ${short(found.hash)}), but the extractor in use is '${expected.id}' (hash ${short(expected.hash)})`;
  throw new FarmerError(
    'FARMER_E_BAD_INPUT',
    `stale reference statistics: ${file} was computed with ${what}. ` +
      'FID against it would compare different feature spaces. Recompute the reference statistics with the extractor in use, or use the extractor they were made with.',
    { file, reason: 'stale-reference-stats', found, expected },
  );
}

/** Options for {@link computeReferenceStats}. */
export interface ComputeReferenceStatsOptions extends ExtractOptions {
  /** Images per extract() call; features are folded into the statistics and dropped. Default 1024. */
  imagesPerCall?: number;
  /** Stored as `source` in the file. */
  source?: string;
}

/**
 * Runs `extractor` over `images` in slices and accumulates mean and
 * covariance, so no full feature matrix is held. The result carries the
 * extractor's identity, ready for {@link saveReferenceStats}.
 *
 * @param images - `[count, H, W, C]` u8, count ≥ 2.
 */
export async function computeReferenceStats(extractor: FeatureExtractor, images: U8Images, opts: ComputeReferenceStatsOptions = {}): Promise<ReferenceStats> {
  checkU8Images(images);
  const per = opts.imagesPerCall ?? 1024;
  if (!Number.isInteger(per) || per < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `imagesPerCall must be a positive integer, got ${per}`, { field: 'imagesPerCall' });
  let acc: FeatureStatsAccumulator | undefined;
  for (let start = 0; start < images.count; start += per) {
    const n = Math.min(per, images.count - start);
    const feats = await extractor.extract(sliceImages(images, start, n), {
      signal: opts.signal,
      onProgress: opts.onProgress && ((done) => opts.onProgress?.(start + done, images.count)),
    });
    acc ??= new FeatureStatsAccumulator(feats.dim);
    acc.add(feats);
  }
  if (!acc) throw new FarmerError('FARMER_E_BAD_INPUT', 'computeReferenceStats: no images given');
  const stats = acc.finalize();
  return { ...stats, extractor: { ...extractor.identity }, ...(opts.source !== undefined ? { source: opts.source } : {}) };
}

function checkIdentity(x: ExtractorIdentity | undefined, name: string): void {
  if (!x || typeof x.id !== 'string' || !x.id || typeof x.hash !== 'string' || !x.hash) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${name} must be an extractor identity { id, hash } with non-empty strings`);
  }
}

function short(hash: string): string {
  return hash.length > 12 ? `${hash.slice(0, 12)}…` : hash;
}
