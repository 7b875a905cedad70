import { join } from 'node:path';
import { FarmerError, resolveCheckpointDir } from '@farmer/core';
import { builtinSource, installedPackageDir, isDirectory, type BuiltinLookup, type BuiltinSource } from './builtin-lookup.js';
import { BUILTIN_MODEL, BUILTIN_MODEL_INFO, BUILTIN_MODELS, isBuiltinModelName, type BuiltinModelName } from './catalogue.js';

/**
 * The folder of a built-in model in `source`: `<FARMER_MODELS_DIR>/<name>`
 * or the root of its installed package (laid out as a training run:
 * `checkpoint/`, `classifier/`). Undefined when it is not there.
 */
export function builtinModelFolder(name: BuiltinModelName, source: BuiltinSource): string | undefined {
  if (source.kind === 'folder') {
    const dir = join(source.root, name);
    return isDirectory(dir) ? dir : undefined;
  }
  return installedPackageDir(BUILTIN_MODEL_INFO[name].packageName, source.resolvePackage);
}

/** FARMER_E_NOT_FOUND for a built-in that is not where `source` looks: it names the npm package to install. */
export function builtinMissing(what: string, name: BuiltinModelName, source: BuiltinSource, details: Record<string, unknown>): FarmerError {
  const pkg = BUILTIN_MODEL_INFO[name].packageName;
  const message =
    source.kind === 'folder'
      ? `${what} was not found in FARMER_MODELS_DIR (${source.root}): put it at ${join(source.root, name)}, or unset FARMER_MODELS_DIR to use the installed package (npm install ${pkg})`
      : `${what} is not installed: npm install ${pkg} (or set FARMER_MODELS_DIR to a folder holding ${name}/)`;
  return new FarmerError('FARMER_E_NOT_FOUND', message, { ...details, package: pkg });
}

/**
 * The checkpoint directory of a built-in model (default mnist-small):
 * `FARMER_MODELS_DIR/<name>/` when that variable is set (a checkpoint or a
 * training run directory), else the installed package `@farmer/model-<name>`
 * (its `checkpoint/`). An unknown name is FARMER_E_BAD_INPUT listing the
 * choices; a known one that is not there is FARMER_E_NOT_FOUND naming the
 * package to install.
 */
export function builtinModelDir(name: string = BUILTIN_MODEL, lookup: BuiltinLookup = {}): string {
  if (!isBuiltinModelName(name)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `unknown built-in model '${name}'; choose one of: ${BUILTIN_MODELS.join(', ')} (or give a checkpoint directory with --checkpoint)`, { field: 'model' });
  }
  const source = builtinSource(lookup);
  const folder = builtinModelFolder(name, source);
  if (!folder) throw builtinMissing(`the built-in model ${name}`, name, source, { field: 'model' });
  try {
    return resolveCheckpointDir(folder);
  } catch (e) {
    const pkg = BUILTIN_MODEL_INFO[name].packageName;
    const fix = source.kind === 'folder' ? `put a checkpoint or a run directory there` : `reinstall it: npm install ${pkg}`;
    throw new FarmerError('FARMER_E_NOT_FOUND', `the built-in model ${name} at ${folder} holds no checkpoint; ${fix}`, { field: 'model', file: folder, package: pkg }, { cause: e });
  }
}

/**
 * Every built-in model that is there, by name, with its checkpoint directory
 * (for serving without `--models`); may be empty. One whose folder holds no
 * checkpoint is listed with its folder, so that opening it says why.
 */
export function builtinModels(lookup: BuiltinLookup = {}): { name: BuiltinModelName; dir: string }[] {
  const source = builtinSource(lookup);
  return BUILTIN_MODELS.flatMap((name) => {
    const folder = builtinModelFolder(name, source);
    if (!folder) return [];
    try {
      return [{ name, dir: resolveCheckpointDir(folder) }];
    } catch {
      return [{ name, dir: folder }];
    }
  });
}
