import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

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

/** Why no file can be created in the existing directory `dir` (a probe file written and removed), or undefined. */
function probeProblem(dir: string): string | undefined {
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
    return undefined;
  } catch (e) {
    if (existsSync(probe)) rmSync(probe, { force: true });
    // An existing directory that answers ENOENT to a new file is a virtual one (/proc).
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it takes no new files' : describeFsError(e);
  }
}

/**
 * Why the directory `dir` cannot be created, or undefined when it exists or
 * can be: its nearest existing ancestor must be a directory that takes a new
 * file (probed by writing one). Run before every recursive mkdir of a path a
 * user gave: on Node 20, `mkdir(..., { recursive: true })` under a directory
 * that refuses new entries with ENOENT (/proc) spins forever instead of
 * failing. An existing `dir` is not probed (see {@link directoryWriteProblem}).
 */
export function directoryCreateProblem(dir: string): string | undefined {
  const target = resolve(dir);
  for (let at = target; ; at = dirname(at)) {
    let stat;
    try {
      stat = statSync(at, { throwIfNoEntry: false });
    } catch (e) {
      // ENOTDIR: a file further up; the walk finds it.
      if ((e as NodeJS.ErrnoException).code !== 'ENOTDIR') return describeFsError(e);
    }
    if (stat) {
      if (at === target) return stat.isDirectory() ? undefined : 'it is an existing file';
      if (!stat.isDirectory()) return `a parent of it is a file (${at})`;
      const problem = probeProblem(at);
      return problem && `its nearest existing parent ${at} cannot be written (${problem})`;
    }
    if (dirname(at) === at) return `${at} does not exist`;
  }
}

/**
 * Why files cannot be written into the directory `dir`, or undefined when
 * they can. With `create`, a missing `dir` (and its parents) is created
 * first, once {@link directoryCreateProblem} finds nothing in the way.
 * Probed by writing and removing a file, so permissions, read-only mounts,
 * full disks and virtual file systems all show up before any real work is
 * spent.
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
    const problem = directoryCreateProblem(dir);
    if (problem) return problem;
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      return describeFsError(e);
    }
  }
  return probeProblem(dir);
}
