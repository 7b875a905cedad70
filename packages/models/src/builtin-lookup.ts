import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

/** Where the built-ins are looked for; every field defaults to this process's. */
export interface BuiltinLookup {
  /** The environment: `FARMER_MODELS_DIR`, when set, is the only place looked in. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Resolves `<package>/package.json` to its path, throwing when the package
   * is not installed. Default: Node's resolution from @farmer/models itself,
   * which finds the model packages installed beside it.
   */
  resolvePackage?: (specifier: string) => string;
}

/**
 * Where the built-ins come from: the folder `root` the user set
 * (`FARMER_MODELS_DIR`), or the installed model packages, found with
 * `resolvePackage`.
 */
export type BuiltinSource =
  | { kind: 'folder'; root: string }
  | {
      kind: 'packages';
      /** Resolves `<package>/package.json` to a file path; throws when the package is not installed. */
      resolvePackage: (specifier: string) => string;
    };

const nodeResolve = (specifier: string): string => createRequire(import.meta.url).resolve(specifier);

/** The source a lookup reads: `FARMER_MODELS_DIR` when set (and only it), else the installed packages. */
export function builtinSource(lookup: BuiltinLookup = {}): BuiltinSource {
  const fromEnv = (lookup.env ?? process.env).FARMER_MODELS_DIR;
  if (fromEnv) return { kind: 'folder', root: resolve(fromEnv) };
  return { kind: 'packages', resolvePackage: lookup.resolvePackage ?? nodeResolve };
}

/** The folder of an installed package, or undefined when it cannot be resolved (not installed). */
export function installedPackageDir(packageName: string, resolvePackage: (specifier: string) => string): string | undefined {
  try {
    return dirname(resolvePackage(`${packageName}/package.json`));
  } catch {
    return undefined;
  }
}

/** Whether `dir` is an existing directory. */
export function isDirectory(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory();
}

/** Whether `dir` holds a checkpoint's config.json (a model's or a classifier's). */
export function holdsConfig(dir: string): boolean {
  return existsSync(join(dir, 'config.json'));
}
