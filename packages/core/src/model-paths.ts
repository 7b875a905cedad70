import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILTIN_MODEL, BUILTIN_MODELS, type BuiltinModelName } from './builtin-model-names.js';
import { FarmerError } from './errors.js';
import { readableDirectory } from './interrupted-writes.js';


const holdsModel = (root: string, name: string): boolean => existsSync(join(root, name, 'config.json'));

/**
 * The folder of the built-in models: FARMER_MODELS_DIR when set (then only
 * that folder), else the first `models/` holding a built-in model found by
 * walking up from this package to the checkout root. Undefined when none.
 */
function builtinModelsRoot(): string | undefined {
  const fromEnv = process.env.FARMER_MODELS_DIR;
  if (fromEnv) return resolve(fromEnv);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const root = join(dir, 'models');
    if (BUILTIN_MODELS.some((name) => holdsModel(root, name))) return root;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/**
 * The directory of a built-in model that ships with the repo (default
 * `models/mnist-small`: FARMER_MODELS_DIR when set, else the first
 * `models/` found walking up from this package). An unknown name is FARMER_E_BAD_INPUT listing the choices;
 * a known one that is not there is FARMER_E_NOT_FOUND.
 */
export function builtinModelDir(name: string = BUILTIN_MODEL): string {
  if (!(BUILTIN_MODELS as readonly string[]).includes(name)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `unknown built-in model '${name}'; choose one of: ${BUILTIN_MODELS.join(', ')} (or give a checkpoint directory with --checkpoint)`, { field: 'model' });
  }
  const root = builtinModelsRoot();
  if (!root || !holdsModel(root, name)) {
    throw new FarmerError(
      'FARMER_E_NOT_FOUND',
      `the built-in model ${name} (models/${name}) was not found${root ? ` in ${root}` : ''}; pass a checkpoint directory, or set FARMER_MODELS_DIR to the folder that holds ${name}/`,
      { file: `models/${name}` },
    );
  }
  return join(root, name);
}

/** Every built-in model that is present, by name (for `farmer serve` without `--models`); may be empty. */
export function builtinModels(): { name: BuiltinModelName; dir: string }[] {
  const root = builtinModelsRoot();
  if (!root) return [];
  return BUILTIN_MODELS.filter((name) => holdsModel(root, name)).map((name) => ({ name, dir: join(root, name) }));
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
