import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FarmerError, resolveCheckpointDir } from '@farmer/core';
import { BUILTIN_MODEL, builtinModelDir, builtinModels } from '@farmer/models';

/** A model to serve: its URL name and its checkpoint directory. */
export interface ModelSource {
  name: string;
  dir: string;
}

/** Model names are URL path segments. */
export const MODEL_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const NAME_RE = new RegExp(MODEL_NAME_PATTERN);

/** Whether `dir` is a checkpoint or a training run (including one whose checkpoint an interrupted write left as `.old-*`). */
function isCheckpointDir(dir: string): boolean {
  try {
    resolveCheckpointDir(dir);
    return true;
  } catch {
    return false;
  }
}

/** What an interrupted directory write leaves beside its target (see @farmer/core's interrupted-writes). */
const LEFTOVER = /^(.+)\.(tmp|old)-\d+-[0-9a-f]+$/;

/**
 * The model folders of a models directory, by name: every non-hidden
 * subdirectory; a checkpoint stranded as `NAME.old-*` is served as NAME
 * (read in place), and temporary `.tmp-*` folders are skipped.
 */
function modelFolders(root: string): ModelSource[] {
  const names = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name);
  const out = new Map<string, string>();
  for (const name of names) {
    const m = LEFTOVER.exec(name);
    if (!m) out.set(name, join(root, name));
    else if (m[2] === 'old' && !names.includes(m[1])) out.set(m[1], join(root, m[1]));
  }
  return [...out].map(([name, dir]) => ({ name, dir })).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The models to serve from what the user gave:
 * - nothing: every built-in model that is installed (`builtinModels()` of @farmer/models:
 *   the model packages, or FARMER_MODELS_DIR);
 * - a checkpoint (or a training run holding `checkpoint/`): that one model;
 * - a directory: each non-hidden subdirectory, named after it (whether it
 *   really holds a valid checkpoint is found out, and reported, at load);
 * - a list of `{ name, dir }`.
 * Throws FARMER_E_NOT_FOUND / FARMER_E_BAD_INPUT (field `models`) when there is nothing to serve.
 */
export function discoverModels(spec: string | readonly ModelSource[] | undefined): ModelSource[] {
  let sources: ModelSource[];
  if (spec === undefined) {
    sources = builtinModels();
    // None there: the default one's error names the package to install (or where it looked).
    if (!sources.length) sources = [{ name: BUILTIN_MODEL, dir: builtinModelDir() }];
  } else if (typeof spec !== 'string') {
    sources = spec.map((s) => ({ name: s.name, dir: resolve(s.dir) }));
  } else {
    const root = resolve(spec);
    if (!existsSync(root)) throw new FarmerError('FARMER_E_NOT_FOUND', `models directory ${spec} does not exist (--models / FARMER_MODELS)`, { field: 'models', file: spec });
    if (!statSync(root).isDirectory()) throw new FarmerError('FARMER_E_BAD_INPUT', `--models ${spec} is a file; give a checkpoint directory or a directory of them`, { field: 'models', file: spec });
    if (isCheckpointDir(root)) {
      // A checkpoint called `checkpoint/` is named after its training run.
      const name = basename(root) === 'checkpoint' ? basename(dirname(root)) : basename(root);
      sources = [{ name, dir: root }];
    } else {
      sources = modelFolders(root);
      if (!sources.length) throw new FarmerError('FARMER_E_NOT_FOUND', `models directory ${spec} holds no checkpoint directories`, { field: 'models', file: spec });
    }
  }
  const seen = new Set<string>();
  for (const s of sources) {
    if (!NAME_RE.test(s.name)) throw new FarmerError('FARMER_E_BAD_INPUT', `model name '${s.name}' (from ${s.dir}) must match ${MODEL_NAME_PATTERN}; rename the directory`, { field: 'models' });
    if (seen.has(s.name)) throw new FarmerError('FARMER_E_BAD_INPUT', `two models are named '${s.name}'; model names must be unique`, { field: 'models' });
    seen.add(s.name);
  }
  return sources;
}
