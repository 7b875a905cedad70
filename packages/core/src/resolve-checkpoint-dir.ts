import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FarmerError } from './errors.js';
import { readableDirectory } from './interrupted-writes.js';

/**
 * A checkpoint directory from what a user passes: the checkpoint itself
 * (holding config.json) or a training run directory (holding checkpoint/).
 * When a write was interrupted between its two renames, the `.old-*` copy
 * left beside either is returned, to be read in place (see
 * interrupted-writes.ts).
 */
export function resolveCheckpointDir(dir: string): string {
  const abs = resolve(dir);
  const holdsConfig = (d: string | undefined): d is string => d !== undefined && existsSync(join(d, 'config.json'));
  const own = readableDirectory(abs);
  if (holdsConfig(own)) return own;
  const run = readableDirectory(join(abs, 'checkpoint'));
  if (holdsConfig(run) && own === abs) return run;
  if (!existsSync(abs)) throw new FarmerError('FARMER_E_NOT_FOUND', `checkpoint ${dir} does not exist`, { file: dir });
  throw new FarmerError('FARMER_E_NOT_FOUND', `${dir} holds no checkpoint (no config.json, nor checkpoint/config.json)`, { file: dir });
}
