// The built-in models' ONNX exports for the page, found through @farmer/models (the installed
// model packages @farmer/model-NAME, or FARMER_MODELS_DIR): the page's build carries no copies.
// The scripts' static server mounts them where the page looks (builtinExportPath: models/NAME/onnx/),
// as `farmer serve` serves them under /playground/; the static site copies them there.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILTIN_MODELS, builtinExportPath, builtinModelDir } from '@farmer/models';

/**
 * Each built-in model's export: its name, its path relative to the page, and its folder.
 * Throws FARMER_E_NOT_FOUND, naming the package to install, when one is missing.
 * @returns {{ name: string, path: string, dir: string }[]}
 */
export function builtinExports() {
  return BUILTIN_MODELS.map((name) => ({ name, path: builtinExportPath(name), dir: join(builtinModelDir(name), 'onnx') }));
}

/**
 * The static server's mounts of the built-in exports: `/models/NAME/onnx/` → the export folder.
 * @returns {Record<string, string>}
 */
export function builtinExportMounts() {
  return Object.fromEntries(builtinExports().map((e) => [`/${e.path}`, e.dir]));
}

/**
 * An export's files as its manifest lists them, the manifest first (whatever model it is: a
 * retrained one's export is taken as it is).
 * @param {string} dir
 * @returns {Promise<string[]>}
 */
export async function exportFiles(dir) {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  return ['manifest.json', ...Object.keys(manifest.files)];
}
