import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A filesystem error as a few words a user can act on. */
function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOTDIR: 'a parent of it is a file',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'the file system is read-only',
    ENOSPC: 'no space left on the device',
    EEXIST: 'a file is in the way',
    ENOENT: 'it does not exist',
  };
  return (code && why[code]) ?? (e as Error).message;
}

/**
 * Why files cannot be written into the directory `dir`, or undefined when
 * they can. With `create`, a missing `dir` (and its parents) is created
 * first. Probed by writing and removing a file, so permissions, read-only
 * mounts and full disks all show up before any real work is spent.
 */
export function directoryWriteProblem(dir: string, options: { create?: boolean } = {}): string | undefined {
  let stat;
  try {
    stat = statSync(dir, { throwIfNoEntry: false });
  } catch (e) {
    return describeFsError(e);
  }
  if (stat && !stat.isDirectory()) return 'it is an existing file';
  if (!stat) {
    if (!options.create) return 'it does not exist';
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      return describeFsError(e);
    }
  }
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
    return undefined;
  } catch (e) {
    if (existsSync(probe)) rmSync(probe, { force: true });
    return describeFsError(e);
  }
}
