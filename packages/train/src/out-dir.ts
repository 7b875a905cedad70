import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkOutputDirectory, checkpointOutput, directoryWriteProblem, FarmerError, readableDirectory } from '@farmer/core';

/** Where a run keeps its checkpoint. */
export function checkpointDirOf(outDir: string): string {
  return join(outDir, 'checkpoint');
}

/**
 * True when `outDir` holds a run's checkpoint, including one stranded as
 * `checkpoint.old-*` by a crash between the two renames of its write.
 */
export function holdsRun(outDir: string): boolean {
  const dir = readableDirectory(checkpointDirOf(outDir));
  return dir !== undefined && existsSync(join(dir, 'config.json'));
}

/**
 * Makes sure a run can write into `outDir` before it spends any time
 * training: the directory is created if needed and a probe file written and
 * removed. An existing file, a path under a file, or a read-only, forbidden
 * or virtual (/proc) location is a FARMER_E_BAD_INPUT naming the path. Its
 * `checkpoint/` must be absent, empty or a checkpoint (core's rule for
 * directory writers, checkOutputDirectory): anything else there is a
 * FARMER_E_OUTPUT_EXISTS, unless `force`.
 */
export function prepareOutDir(outDir: string, options: { force?: boolean } = {}): void {
  const problem = existsSync(outDir) && !statSync(outDir).isDirectory() ? 'it is an existing file' : directoryWriteProblem(outDir, { create: true });
  if (problem) throw new FarmerError('FARMER_E_BAD_INPUT', `cannot write the run to ${outDir}: ${problem}; choose another output directory`, { field: 'outDir', file: outDir });
  checkOutputDirectory(checkpointDirOf(outDir), checkpointOutput(), options);
}

/** The refusal of a new run where one is, in the same words for every trainer (distill says it before loading its teacher). */
export function runExists(outDir: string): FarmerError {
  return new FarmerError(
    'FARMER_E_OUTPUT_EXISTS',
    `${outDir} already holds a run; resume it, choose another output directory, or start over with --force (the run's checkpoint and metrics are replaced)`,
    { field: 'outDir', file: outDir },
  );
}
