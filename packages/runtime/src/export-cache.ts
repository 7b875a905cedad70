import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';

/**
 * Where exports of read-only checkpoints go: `$FARMER_CACHE`, else
 * `$XDG_CACHE_HOME/farmer`, else `~/.cache/farmer`.
 */
export function exportCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FARMER_CACHE) return resolve(env.FARMER_CACHE);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'farmer');
}

/**
 * The cache folder of one checkpoint's export: `<root>/onnx/<name>-<hash>`,
 * the hash of the checkpoint's absolute path, so each checkpoint has one
 * entry, replaced when the checkpoint changes.
 */
export function cachedExportDir(checkpointDir: string, root: string = exportCacheRoot()): string {
  const abs = resolve(checkpointDir);
  const name = basename(abs) === 'checkpoint' ? basename(resolve(abs, '..')) : basename(abs);
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 12);
  return join(root, 'onnx', `${name.replace(/[^A-Za-z0-9._-]/g, '_')}-${hash}`);
}
