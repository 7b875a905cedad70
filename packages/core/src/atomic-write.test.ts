import { mkdtempSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeDirectoryAtomic, type DirectoryFile } from './atomic-write.js';
import type { OutputKind } from './output-directory.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-atomic-'));
/** An output that replaces any folder: these tests are about the mechanics (output-directory.test.ts has the rule). */
const kind: OutputKind = { name: 'a test output', holds: () => true };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('writeDirectoryAtomic', () => {
  it('writes the files in order, replaces an existing directory and leaves no temp or old siblings', async () => {
    const parent = tmp();
    const dir = join(parent, 'out');
    const seen: [string, number][] = [];
    await writeDirectoryAtomic(dir, [{ name: 'a.bin', bytes: Uint8Array.from([1, 2]) }, { name: 'b.json', bytes: '{}\n' }], { kind, onFile: (name, done) => seen.push([name, done]) });
    expect(seen).toEqual([['a.bin', 1], ['b.json', 2]]);
    expect(readdirSync(dir).sort()).toEqual(['a.bin', 'b.json']);
    await writeDirectoryAtomic(dir, [{ name: 'c.txt', bytes: 'new' }], { kind });
    expect(readdirSync(dir)).toEqual(['c.txt']);
    expect(readFileSync(join(dir, 'c.txt'), 'utf8')).toBe('new');
    expect(readdirSync(parent)).toEqual(['out']);
  });

  it('fsyncs every file, the temp directory and, after the renames, the parent directory', async () => {
    const parent = tmp();
    const dir = join(parent, 'out');
    const synced: string[] = [];
    const open = fs.open.bind(fs);
    vi.spyOn(fs, 'open').mockImplementation(async (...args: Parameters<typeof fs.open>) => {
      const fh = await open(...args);
      const sync = fh.sync.bind(fh);
      fh.sync = async () => {
        // What the path names at the moment of the fsync: a file, the temp directory, or the parent after the rename.
        synced.push(`${String(args[0])}${readdirSync(parent).includes('out') ? ' (out in place)' : ''}`);
        return sync();
      };
      return fh;
    });
    await writeDirectoryAtomic(dir, [{ name: 'a', bytes: 'x' }, { name: 'b', bytes: 'y' }], { kind });
    expect(synced).toHaveLength(4);
    expect(synced[0]).toMatch(/out\.tmp-\d+-[0-9a-f]{8}\/a$/);
    expect(synced[1]).toMatch(/out\.tmp-\d+-[0-9a-f]{8}\/b$/);
    expect(synced[2]).toMatch(/out\.tmp-\d+-[0-9a-f]{8}$/);
    expect(synced[3]).toBe(`${parent} (out in place)`);
  });

  it('keeps the old directory and removes the temp one when producing a file fails part-way', async () => {
    const parent = tmp();
    const dir = join(parent, 'out');
    await writeDirectoryAtomic(dir, [{ name: 'keep', bytes: 'old' }], { kind });
    function* failing(): Generator<DirectoryFile> {
      yield { name: 'first', bytes: 'new' };
      throw new Error('encoder failed');
    }
    await expect(writeDirectoryAtomic(dir, failing(), { kind })).rejects.toThrow(/encoder failed/);
    expect(readdirSync(parent)).toEqual(['out']);
    expect(readFileSync(join(dir, 'keep'), 'utf8')).toBe('old');
  });

  it('refuses a file name with a path in it', async () => {
    const parent = tmp();
    await expect(writeDirectoryAtomic(join(parent, 'out'), [{ name: '../escape', bytes: 'x' }], { kind })).rejects.toThrow(/not a plain file name/);
    expect(readdirSync(parent)).toEqual([]);
  });
});
