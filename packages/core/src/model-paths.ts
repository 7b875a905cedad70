import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FarmerError } from './errors.js';
import { readableDirectory } from './interrupted-writes.js';

/** The built-in model's folder name under `models/`. */
export const BUILTIN_MODEL = 'mnist-small';

/**
 * The directory of the built-in model that ships with the repo
 * (`models/mnist-small`), found from FARMER_MODELS_DIR or by walking up from
 * this package to the checkout root.
 */
export function builtinModelDir(): string {
  const fromEnv = process.env.FARMER_MODELS_DIR;
  const candidates: string[] = [];
  if (fromEnv) candidates.push(join(resolve(fromEnv), BUILTIN_MODEL));
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    candidates.push(join(dir, 'models', BUILTIN_MODEL));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const found = candidates.find((c) => existsSync(join(c, 'config.json')));
  if (!found) {
    throw new FarmerError(
      'FARMER_E_NOT_FOUND',
      `the built-in model (models/${BUILTIN_MODEL}) was not found; pass a checkpoint directory, or set FARMER_MODELS_DIR to the folder that holds ${BUILTIN_MODEL}/`,
      { file: `models/${BUILTIN_MODEL}` },
    );
  }
  return found;
}

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
