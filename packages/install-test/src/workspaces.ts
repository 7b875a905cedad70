import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PackageManifest } from './package-manifest.js';

/** A workspace of the checkout. */
export interface Workspace {
  /** Its folder relative to the checkout root, e.g. `packages/core`. */
  dir: string;
  manifest: PackageManifest;
}

/**
 * The folders a root `workspaces` entry names: `dir/*` (every sub-folder
 * holding a package.json) or one folder. Other glob forms are refused, so a
 * new pattern is noticed rather than silently matching nothing.
 */
export function expandWorkspacePattern(root: string, pattern: string): string[] {
  const clean = pattern.replace(/^\.\//, '').replace(/\/$/, '');
  if (clean.endsWith('/*') && !clean.slice(0, -2).includes('*')) {
    const parent = clean.slice(0, -2);
    if (!existsSync(join(root, parent))) return [];
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(root, parent, e.name, 'package.json')))
      .map((e) => `${parent}/${e.name}`)
      .sort();
  }
  if (clean.includes('*')) throw new Error(`workspaces pattern '${pattern}' is not supported by the install test (use 'dir/*' or a folder)`);
  return existsSync(join(root, clean, 'package.json')) ? [clean] : [];
}

/** Every workspace named by the root package.json's `workspaces`, in its order. */
export function workspaces(root: string): Workspace[] {
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces?: string[] };
  return (rootManifest.workspaces ?? [])
    .flatMap((pattern) => expandWorkspacePattern(root, pattern))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as PackageManifest }));
}

/** The workspaces that are published: those not marked `"private": true`. */
export function publicWorkspaces(root: string): Workspace[] {
  return workspaces(root).filter((w) => w.manifest.private !== true);
}
