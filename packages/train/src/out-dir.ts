import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { directoryWriteProblem, FarmerError, readableDirectory } from '@farmer/core';

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
 * removed. An existing file, a path under a file, or a read-only or
 * forbidden location is a FARMER_E_BAD_INPUT naming the path.
 */
export function prepareOutDir(outDir: string): void {
  const problem = existsSync(outDir) && !statSync(outDir).isDirectory() ? 'it is an existing file' : directoryWriteProblem(outDir, { create: true });
  if (problem) throw new FarmerError('FARMER_E_BAD_INPUT', `cannot write the run to ${outDir}: ${problem}; choose another output directory`, { field: 'outDir', file: outDir });
}
