import { existsSync, promises as fs, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/*
 * What a crashed directory write leaves beside its target (see
 * writeDirectoryAtomic): `target.tmp-<pid>-<hex>`, a copy being written, and
 * `target.old-<pid>-<hex>`, the previous version moved aside. A crash
 * between the two renames leaves only the `.old-*` copy.
 *
 * The rules: readers never move anything; they read a lone `.old-*` copy in
 * place. Only a writer of the same target puts an `.old-*` copy back or
 * removes leftovers, and only those whose process (the pid in the name) is
 * no longer alive: a live writer between its two renames is never disturbed.
 */

const LEFTOVER = /^(?<kind>tmp|old)-(?<pid>\d+)-[0-9a-f]+$/;

/** True while process `pid` exists (a process of another user counts: EPERM means it exists). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Leftover {
  path: string;
  kind: 'tmp' | 'old';
  pid: number;
  mtimeMs: number;
}

/** The `.tmp-*` and `.old-*` siblings of `target`, newest first. */
function leftoversOf(target: string): Leftover[] {
  const parent = dirname(target);
  const prefix = `${basename(target)}.`;
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return []; // no parent directory (or a file in its place): nothing was left there
  }
  const out: Leftover[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = LEFTOVER.exec(name.slice(prefix.length));
    if (!m?.groups) continue;
    const path = join(parent, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) out.push({ path, kind: m.groups.kind as 'tmp' | 'old', pid: Number(m.groups.pid), mtimeMs: stat.mtimeMs });
  }
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

/**
 * Where a reader finds the directory `target`: itself when it exists, else
 * the newest `target.old-*` copy a writer left between its two renames (read
 * in place, never moved), else undefined.
 */
export function readableDirectory(target: string): string | undefined {
  if (existsSync(target)) return target;
  return leftoversOf(target).find((l) => l.kind === 'old')?.path;
}

/**
 * For writers of `target`, before they write it: removes `.tmp-*` copies of
 * writers that died, and puts back the newest `.old-*` copy of a dead writer
 * when `target` itself is missing (the others are removed). Copies whose
 * process is alive, this one's included, are left alone.
 */
export async function recoverInterruptedWrite(target: string): Promise<void> {
  const dead = leftoversOf(target).filter((l) => !isProcessAlive(l.pid));
  for (const l of dead) {
    if (l.kind === 'old' && !existsSync(target)) await fs.rename(l.path, target);
    else await fs.rm(l.path, { recursive: true, force: true });
  }
}
