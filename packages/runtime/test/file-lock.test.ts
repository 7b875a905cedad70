import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isFarmerError } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { withFileLock } from '../src/index.js';
import { tmp } from './helpers.js';

describe('withFileLock', () => {
  it('creates the folder of the lock, holds it while fn runs, removes it after', async () => {
    const lock = join(tmp(), 'a', 'b', 'x.lock');
    expect(await withFileLock(lock, async () => existsSync(lock))).toBe(true);
    expect(existsSync(lock)).toBe(false);
  });

  // On Node 20 a recursive mkdir under /proc spins forever: the lock's folder is checked first.
  it.runIf(existsSync('/proc/self'))('a lock under /proc is a FARMER_E_BAD_INPUT at once, not a hang', async () => {
    const hang = new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 10 s')), 10_000).unref());
    const e = await Promise.race([withFileLock('/proc/farmer-new/x.lock', async () => 'ran'), hang]).catch((err: unknown) => err);
    expect(isFarmerError(e, 'FARMER_E_BAD_INPUT'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/cannot create the folder \/proc\/farmer-new: its nearest existing parent \/proc cannot be written \(it takes no new files\)/);
  });
});
