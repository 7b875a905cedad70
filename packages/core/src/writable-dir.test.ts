import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDirectoryAtomic, writeFileAtomic } from './atomic-write.js';
import { ensureDirectory } from './ensure-directory.js';
import { isFarmerError } from './errors.js';
import { directoryCreateProblem, directoryWriteProblem } from './writable-dir.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-writable-'));
/** /proc exists and refuses new entries with ENOENT (Linux): where a recursive mkdir of Node 20 never returns. */
const hasProc = existsSync('/proc/self');

/** The rejection of `p`, failing fast instead of waiting for a hang. */
async function rejection(p: Promise<unknown>, ms = 10_000): Promise<unknown> {
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms (a recursive mkdir under /proc spins forever)`)), ms).unref());
  return Promise.race([p.then(() => new Error('resolved')), timeout]).catch((e: unknown) => e);
}

describe('directoryCreateProblem: the nearest existing ancestor must take new files', () => {
  it('is undefined for an existing folder and for missing folders under a writable one', () => {
    const parent = tmp();
    expect(directoryCreateProblem(parent)).toBeUndefined();
    expect(directoryCreateProblem(join(parent, 'a', 'b', 'c'))).toBeUndefined();
    expect(existsSync(join(parent, 'a'))).toBe(false);
  });

  it('names a file in the way, at the target or further up', () => {
    const file = join(tmp(), 'file');
    writeFileSync(file, 'x');
    expect(directoryCreateProblem(file)).toBe('it is an existing file');
    expect(directoryCreateProblem(join(file, 'a', 'b'))).toBe(`a parent of it is a file (${file})`);
  });

  it.runIf(hasProc)('names /proc, and directoryWriteProblem with create answers at once instead of spinning', () => {
    expect(directoryCreateProblem('/proc/farmer-new/run')).toBe('its nearest existing parent /proc cannot be written (it takes no new files)');
    expect(directoryWriteProblem('/proc/farmer-new', { create: true })).toBe('its nearest existing parent /proc cannot be written (it takes no new files)');
  });
});

describe.runIf(hasProc)('writers under /proc fail with FARMER_E_BAD_INPUT instead of spinning', () => {
  it('ensureDirectory, writeFileAtomic, writeDirectoryAtomic', async () => {
    for (const [what, p] of [
      ['ensureDirectory', ensureDirectory('/proc/farmer-new/a')],
      ['writeFileAtomic', writeFileAtomic('/proc/farmer-new/x.png', 'x')],
      ['writeDirectoryAtomic', writeDirectoryAtomic('/proc/farmer-new/out', [{ name: 'a', bytes: 'x' }], { kind: { name: 'a test output', holds: () => true } })],
      // Directly under /proc: no mkdir hangs, but the temp folder cannot be made (ENOENT, once a bug report).
      ['writeDirectoryAtomic', writeDirectoryAtomic('/proc/farmer-out', [{ name: 'a', bytes: 'x' }], { kind: { name: 'a test output', holds: () => true } })],
    ] as const) {
      const e = await rejection(p);
      expect(isFarmerError(e, 'FARMER_E_BAD_INPUT'), `${what}: ${String(e)}`).toBe(true);
      expect((e as Error).message, what).toMatch(/\/proc.*it takes no new files/);
    }
  });
});
