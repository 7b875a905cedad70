import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { ensureDirectory, FarmerError, isProcessAlive } from '@farmer/core';

/** Options of {@link withFileLock}. */
export interface FileLockOptions {
  /** Give up waiting for another holder after this long (default 10 min). */
  timeoutMs?: number;
  /** Polling interval while waiting (default 100 ms). */
  pollMs?: number;
  /** Called once when the lock is held by another live process, with its pid. */
  onWait?: (pid: number) => void;
}

/** A lock file whose writer died before it wrote its pid is stale after this long. */
const EMPTY_LOCK_STALE_MS = 10_000;

/** The pid recorded in a lock file, or undefined when it holds none (yet). */
async function holderOf(path: string): Promise<{ pid?: number; ageMs: number } | undefined> {
  try {
    const [text, stat] = await Promise.all([fs.readFile(path, 'utf8'), fs.stat(path)]);
    const pid = Number.parseInt(text.trim(), 10);
    return { pid: Number.isSafeInteger(pid) && pid > 0 ? pid : undefined, ageMs: Date.now() - stat.mtimeMs };
  } catch {
    return undefined; // released meanwhile
  }
}

/**
 * Runs `fn` while holding the lock file `path` (created exclusively, holding
 * this process's pid; removed afterwards). Another live holder is waited
 * for; the lock of a process that died is taken over. Between processes
 * only: two holders in one process wait for each other as well, since the
 * pid is alive. Throws FARMER_E_UNSUPPORTED when `timeoutMs` passes, and
 * FARMER_E_BAD_INPUT when the lock's folder cannot be created.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
  let told = false;
  await ensureDirectory(dirname(path));
  for (;;) {
    try {
      const fh = await fs.open(path, 'wx');
      try {
        await fh.writeFile(String(process.pid));
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = await holderOf(path);
    const stale = holder && (holder.pid !== undefined ? !isProcessAlive(holder.pid) : holder.ageMs > EMPTY_LOCK_STALE_MS);
    if (stale) {
      await fs.rm(path, { force: true });
      continue;
    }
    if (holder?.pid !== undefined && !told) {
      told = true;
      options.onWait?.(holder.pid);
    }
    if (Date.now() > deadline) throw new FarmerError('FARMER_E_UNSUPPORTED', `gave up waiting for ${path}, held by process ${holder?.pid ?? '?'}; remove it if that process is gone`, { file: path });
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
  try {
    return await fn();
  } finally {
    await fs.rm(path, { force: true });
  }
}
