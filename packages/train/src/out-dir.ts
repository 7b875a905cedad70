import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FarmerError } from '@farmer/core';

/** Where a run keeps its checkpoint. */
export function checkpointDirOf(outDir: string): string {
  return join(outDir, 'checkpoint');
}

/** True when `outDir` holds a run's checkpoint. */
export function holdsRun(outDir: string): boolean {
  return existsSync(join(checkpointDirOf(outDir), 'config.json'));
}

/**
 * Makes sure a run can write into `outDir` before it spends any time
 * training: the directory is created if needed and a probe file written and
 * removed. An existing file, a path under a file, or a read-only or
 * forbidden location is a FARMER_E_BAD_INPUT naming the path.
 */
export function prepareOutDir(outDir: string): void {
  const bad = (why: string) => new FarmerError('FARMER_E_BAD_INPUT', `cannot write the run to ${outDir}: ${why}; choose another output directory`, { field: 'outDir', file: outDir });
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw bad('it is an existing file');
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw bad(reason(e));
  }
  const probe = join(outDir, `.write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (e) {
    throw bad(reason(e));
  }
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOTDIR: 'a parent of it is a file',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    ENOSPC: 'no space left on the device',
    EEXIST: 'a file is in the way',
  };
  return (code && why[code]) ?? (e as Error).message;
}
