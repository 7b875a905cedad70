import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { directoryWriteProblem } from '@farmer/core';

/** The pid of a process that has exited (for leftovers "of a dead process"). */
export function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

/**
 * Makes a directory unwritable, even for root (mode 555, then the immutable
 * attribute where chmod is not enough). Returns the undo, or undefined when
 * the directory could not be made read-only here (a test then has nothing
 * to check).
 */
export function makeReadOnly(dir: string): (() => void) | undefined {
  chmodSync(dir, 0o555);
  let immutable = false;
  if (directoryWriteProblem(dir) === undefined) {
    try {
      execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
      immutable = true;
    } catch {
      // no chattr, or no right to use it
    }
  }
  const undo = (): void => {
    if (immutable) execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
    chmodSync(dir, 0o755);
  };
  if (directoryWriteProblem(dir) === undefined) {
    undo();
    return undefined;
  }
  return undo;
}
