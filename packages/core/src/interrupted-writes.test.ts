import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDirectoryAtomic } from './atomic-write.js';
import { isProcessAlive, readableDirectory, recoverInterruptedWrite } from './interrupted-writes.js';
import { resolveCheckpointDir } from './resolve-checkpoint-dir.js';
import type { OutputKind } from './output-directory.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-interrupted-'));
/** The pid of a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;
/** The outputs of these tests: folders holding a file `id`. */
const kind: OutputKind = { name: 'a folder with an id', holds: (dir) => existsSync(join(dir, 'id')) };

/** A directory holding one file `id` with `text`. */
function dirWith(path: string, text: string): string {
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'id'), text);
  return path;
}

describe('interrupted directory writes', () => {
  it('tells live processes from dead ones', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(deadPid())).toBe(false);
    expect(isProcessAlive(0)).toBe(false);
  });

  it('readers find a lone .old-* copy and read it in place; nothing is moved', () => {
    const parent = tmp();
    const target = join(parent, 'ck');
    expect(readableDirectory(target)).toBeUndefined();
    const stranded = dirWith(`${target}.old-${deadPid()}-0a1b2c3d`, 'old');
    expect(readableDirectory(target)).toBe(stranded);
    dirWith(target, 'new');
    expect(readableDirectory(target)).toBe(target);
    expect(readdirSync(parent).sort()).toEqual(['ck', `ck.old-${stranded.split('.old-')[1]}`]);
  });

  it('a writer puts back the copy of a dead process and removes its temp folders', async () => {
    const parent = tmp();
    const target = join(parent, 'ck');
    dirWith(`${target}.old-${deadPid()}-0a1b2c3d`, 'old');
    dirWith(`${target}.tmp-${deadPid()}-deadbeef`, 'half-written');
    await recoverInterruptedWrite(target);
    expect(readdirSync(parent)).toEqual(['ck']);
    expect(readFileSync(join(target, 'id'), 'utf8')).toBe('old');
  });

  it('never disturbs a live writer between its two renames, nor its temp folder', async () => {
    const parent = tmp();
    const target = join(parent, 'ck');
    const live = dirWith(`${target}.old-${process.pid}-0a1b2c3d`, 'old');
    const tmpLive = dirWith(`${target}.tmp-${process.pid}-deadbeef`, 'writing');
    await recoverInterruptedWrite(target);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(live) && existsSync(tmpLive)).toBe(true);
    // Another writer of the same target writes its own copy and leaves the live writer's alone.
    await writeDirectoryAtomic(target, [{ name: 'id', bytes: 'newer' }], { kind });
    expect(readFileSync(join(target, 'id'), 'utf8')).toBe('newer');
    expect(existsSync(live) && existsSync(tmpLive)).toBe(true);
  });

  it('a write first recovers what a dead writer left, then replaces it', async () => {
    const parent = tmp();
    const target = join(parent, 'ck');
    dirWith(`${target}.old-${deadPid()}-0a1b2c3d`, 'old');
    await writeDirectoryAtomic(target, [{ name: 'id', bytes: 'new' }], { kind });
    expect(readdirSync(parent)).toEqual(['ck']);
    expect(readFileSync(join(target, 'id'), 'utf8')).toBe('new');
  });

  it('resolveCheckpointDir finds a stranded checkpoint, given itself or its run directory', () => {
    const run = tmp();
    const stranded = join(run, `checkpoint.old-${deadPid()}-0a1b2c3d`);
    mkdirSync(stranded);
    writeFileSync(join(stranded, 'config.json'), '{}');
    expect(resolveCheckpointDir(run)).toBe(stranded);
    expect(resolveCheckpointDir(join(run, 'checkpoint'))).toBe(stranded);
    expect(readdirSync(run)).toEqual([stranded.split('/').pop()]);
  });
});
