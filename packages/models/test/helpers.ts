import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout root (this file is packages/models/test/helpers.ts). */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A fresh temporary folder. */
export function tmp(prefix = 'farmer-models-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A stand-in checkpoint (or classifier) folder: a config.json is all the lookup reads. */
export function fakeCheckpoint(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{}');
  return dir;
}

/** What a function throws (undefined when it returns). */
export function thrown(f: () => unknown): (Error & { code?: string; details?: Record<string, unknown> }) | undefined {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

/** A package resolver that finds nothing, as Node's does when a package is not installed. */
export function nothingInstalled(specifier: string): string {
  throw Object.assign(new Error(`Cannot find module '${specifier}'`), { code: 'MODULE_NOT_FOUND' });
}
