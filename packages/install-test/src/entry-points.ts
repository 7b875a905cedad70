import type { PackageManifest } from './package-manifest.js';

/** A subpath of `exports` and its target: a path, or conditions (nested), or null (blocked). */
type ExportTarget = string | null | ExportTarget[] | { [condition: string]: ExportTarget };

const clean = (p: string): string => p.replace(/^\.\//, '');

/** The `exports` map as subpath → target (`"exports": "./x.js"` and a bare conditions object are the `.` subpath). */
export function exportSubpaths(manifest: PackageManifest): Map<string, ExportTarget> {
  const ex = manifest.exports as ExportTarget | undefined;
  if (ex === undefined) return new Map();
  if (typeof ex === 'string' || ex === null || Array.isArray(ex)) return new Map([['.', ex]]);
  const keys = Object.keys(ex);
  if (keys.length > 0 && keys.every((k) => k.startsWith('.'))) return new Map(Object.entries(ex));
  return new Map([['.', ex]]);
}

/** The file paths a target leads to, with the conditions on the way to each. */
function leaves(target: ExportTarget, conditions: string[] = []): { path: string; conditions: string[] }[] {
  if (target === null) return [];
  if (typeof target === 'string') return [{ path: target, conditions }];
  if (Array.isArray(target)) return target.flatMap((t) => leaves(t, conditions));
  return Object.entries(target).flatMap(([c, t]) => leaves(t, [...conditions, c]));
}

/**
 * Every file package.json points at: main, module, types/typings, each bin
 * and each `exports` target, as paths inside the package (`dist/index.js`).
 * A target with `*` is a pattern, returned as is.
 */
export function referencedFiles(manifest: PackageManifest): string[] {
  const out = new Set<string>();
  for (const f of [manifest.main, manifest.module, manifest.types, manifest.typings]) if (f) out.add(clean(f));
  if (typeof manifest.bin === 'string') out.add(clean(manifest.bin));
  else for (const f of Object.values(manifest.bin ?? {})) out.add(clean(f));
  for (const target of exportSubpaths(manifest).values()) for (const leaf of leaves(target)) out.add(clean(leaf.path));
  return [...out].sort();
}

/** Whether a packed file list holds `path` (a `*` pattern: at least one file it matches). */
export function holdsFile(files: readonly string[], path: string): boolean {
  if (!path.includes('*')) return files.includes(path);
  const re = new RegExp(`^${path.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`);
  return files.some((f) => re.test(f));
}

const specifier = (name: string, subpath: string): string => (subpath === '.' ? name : `${name}/${clean(subpath)}`);

/**
 * The import specifiers of a package's entry points that carry types (a
 * `types` condition, or the package's `types` for `.`), for a type-check:
 * every `exports` subpath but `./package.json` and patterns; without
 * `exports`, the package itself when it names types.
 */
export function typedEntrySpecifiers(manifest: PackageManifest): string[] {
  const subpaths = exportSubpaths(manifest);
  if (subpaths.size === 0) return manifest.types || manifest.typings ? [manifest.name] : [];
  return [...subpaths]
    .filter(([sub]) => sub !== './package.json' && !sub.includes('*'))
    .filter(([sub, target]) => leaves(target).some((l) => l.conditions.includes('types')) || (sub === '.' && Boolean(manifest.types || manifest.typings)))
    .map(([sub]) => specifier(manifest.name, sub));
}

/**
 * The specifiers `require()` can load: `exports` subpaths with a `require`
 * condition (or a plain path, or `default` in a CommonJS package); without
 * `exports`, the package itself when it has a `main`.
 */
export function requireEntrySpecifiers(manifest: PackageManifest): string[] {
  const subpaths = exportSubpaths(manifest);
  if (subpaths.size === 0) return manifest.main ? [manifest.name] : [];
  const cjsPackage = manifest.type !== 'module';
  return [...subpaths]
    .filter(([sub]) => sub !== './package.json' && !sub.includes('*'))
    .filter(([, target]) => leaves(target).some((l) => l.conditions.includes('require') || (cjsPackage && (l.conditions.length === 0 || l.conditions.includes('default')))))
    .map(([sub]) => specifier(manifest.name, sub));
}
