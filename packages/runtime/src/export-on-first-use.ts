import { basename, dirname, join } from 'node:path';
import { directoryCreateProblem, directoryWriteProblem, FarmerError } from '@farmer/core';
import { exportOnnx, type ExportProgress } from '@farmer/onnx';
import { cachedExportDir, exportCacheRoot } from './export-cache.js';
import { exportFreshness } from './export-freshness.js';
import { withFileLock } from './file-lock.js';

/** The places a checkpoint's export may be, in order: `<checkpoint>/onnx` (where `farmer export onnx` writes), then the cache. */
export function exportCandidates(checkpointDir: string, cacheRoot: string = exportCacheRoot()): string[] {
  return [join(checkpointDir, 'onnx'), cachedExportDir(checkpointDir, cacheRoot)];
}

/** The first up-to-date export of a checkpoint, or why none is (one reason per place that holds a stale one). */
export async function findCurrentExport(checkpointDir: string, cacheRoot?: string): Promise<{ dir?: string; stale: string[] }> {
  const stale: string[] = [];
  for (const dir of exportCandidates(checkpointDir, cacheRoot)) {
    const f = await exportFreshness(dir, checkpointDir);
    if (f.current) return { dir, stale };
    if (f.reason && !/holds no ONNX export/.test(f.reason)) stale.push(f.reason);
  }
  return { stale };
}

/** Options of {@link exportOnFirstUse}. */
export interface ExportOnFirstUseOptions {
  /** The cache for read-only checkpoints (default {@link exportCacheRoot}). */
  cacheRoot?: string;
  /** Called after each file of the export is written. */
  onProgress?: (p: ExportProgress) => void;
  /** Told when another process is exporting the same checkpoint and this one waits for it. */
  onWait?: (pid: number) => void;
  /** Give up waiting for another exporting process after this long (default 10 min). */
  lockTimeoutMs?: number;
}

/** Where an export was written, and how long it took (0 when another process wrote it while this one waited). */
export interface FirstUseExport {
  dir: string;
  seconds: number;
}

/** A checkpoint left as `.old-*` by an interrupted write: a writer may delete it at any moment. */
const STRANDED = /\.old-\d+-[0-9a-f]+$/;

/**
 * Exports a checkpoint to ONNX for onnxruntime, on its first use: into
 * `<checkpoint>/onnx` when that folder is writable, else into the cache
 * (`FARMER_CACHE`). Under a lock file beside the target, so that processes
 * opening the same checkpoint at once export it once (the others wait and
 * reuse it); atomically, since `exportOnnx` writes a temporary folder and
 * renames it into place. The export holds the weights inference uses (see
 * `inferenceWeightsPart`) and the student when there is one.
 */
export async function exportOnFirstUse(checkpointDir: string, options: ExportOnFirstUseOptions = {}): Promise<FirstUseExport> {
  const [own, cached] = exportCandidates(checkpointDir, options.cacheRoot);
  const writable = !STRANDED.test(basename(checkpointDir)) && directoryWriteProblem(checkpointDir) === undefined;
  const target = writable ? own : cached;
  // Nowhere to write it is a limit of this runtime, not a fault of the checkpoint: openModel falls back to tfjs.
  const problem = writable ? undefined : directoryCreateProblem(dirname(cached));
  if (problem) {
    throw new FarmerError('FARMER_E_UNSUPPORTED', `cannot write the ONNX export of ${checkpointDir}: not into the checkpoint, nor into the cache (${dirname(cached)}: ${problem}); set FARMER_CACHE to a writable folder`, { file: cached });
  }
  return withFileLock(
    `${target}.lock`,
    async () => {
      // Another process may have written it while this one waited for the lock.
      if ((await exportFreshness(target, checkpointDir)).current) return { dir: target, seconds: 0 };
      const t0 = performance.now();
      await exportOnnx(checkpointDir, target, { onProgress: options.onProgress });
      return { dir: target, seconds: (performance.now() - t0) / 1000 };
    },
    { timeoutMs: options.lockTimeoutMs, onWait: options.onWait },
  );
}
