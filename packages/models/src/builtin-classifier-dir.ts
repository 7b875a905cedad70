import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FarmerError } from '@farmer/core';
import { builtinSource, holdsConfig, type BuiltinLookup } from './builtin-lookup.js';
import { builtinMissing, builtinModelFolder } from './builtin-model-dir.js';
import { BUILTIN_CLASSIFIERS, BUILTIN_MODEL_INFO, classifierOwner, isBuiltinClassifierName } from './catalogue.js';

/**
 * The directory of a built-in feature classifier (`classifier-mnist`,
 * `classifier-fashion`): the `classifier/` folder of its model's package,
 * or, when `FARMER_MODELS_DIR` is set, `FARMER_MODELS_DIR/<classifier-name>/`
 * or else `FARMER_MODELS_DIR/<model>/classifier/`. An unknown name is
 * FARMER_E_BAD_INPUT listing the choices; a missing one is
 * FARMER_E_NOT_FOUND naming the package to install.
 */
export function builtinClassifierDir(name: string, lookup: BuiltinLookup = {}): string {
  if (!isBuiltinClassifierName(name)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `unknown built-in classifier '${name}'; choose one of: ${BUILTIN_CLASSIFIERS.join(', ')} (or give a classifier directory)`, { field: 'classifier' });
  }
  const owner = classifierOwner(name);
  const source = builtinSource(lookup);
  const candidates = [...(source.kind === 'folder' ? [join(source.root, name)] : []), ...[builtinModelFolder(owner, source)].filter((d) => d !== undefined).map((d) => join(d, 'classifier'))];
  const found = candidates.find(holdsConfig);
  if (found) return found;
  if (source.kind === 'folder') {
    throw new FarmerError(
      'FARMER_E_NOT_FOUND',
      `the built-in classifier ${name} was not found in FARMER_MODELS_DIR (${source.root}): put it at ${join(source.root, name)} or ${join(source.root, owner, 'classifier')}, or unset FARMER_MODELS_DIR to use the installed package (npm install ${BUILTIN_MODEL_INFO[owner].packageName})`,
      { field: 'classifier', package: BUILTIN_MODEL_INFO[owner].packageName },
    );
  }
  if (candidates.length) {
    throw new FarmerError('FARMER_E_NOT_FOUND', `the built-in classifier ${name} is missing from ${BUILTIN_MODEL_INFO[owner].packageName} at ${candidates[0]}; reinstall it: npm install ${BUILTIN_MODEL_INFO[owner].packageName}`, {
      field: 'classifier',
      file: candidates[0],
      package: BUILTIN_MODEL_INFO[owner].packageName,
    });
  }
  throw builtinMissing(`the built-in classifier ${name} (in the package of ${owner})`, owner, source, { field: 'classifier' });
}

/**
 * The classifier directory a `--classifier` value names: a built-in
 * classifier's name (see {@link builtinClassifierDir}) or a folder. A bare
 * word that is neither an existing folder nor a built-in name is
 * FARMER_E_NOT_FOUND listing the built-in names.
 */
export function classifierDirOf(spec: string, lookup: BuiltinLookup = {}): string {
  if (isBuiltinClassifierName(spec)) return builtinClassifierDir(spec, lookup);
  if (!existsSync(spec) && !/[\\/]/.test(spec)) {
    throw new FarmerError('FARMER_E_NOT_FOUND', `classifier '${spec}' is neither a folder nor a built-in classifier (${BUILTIN_CLASSIFIERS.join(', ')})`, { field: 'classifier', file: spec });
  }
  return spec;
}
