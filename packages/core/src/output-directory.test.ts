import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDirectoryAtomic } from './atomic-write.js';
import { checkpointOutput, makeCheckpointConfig, readCheckpoint, writeCheckpoint, type CheckpointData } from './checkpoint.js';
import { isFarmerError } from './errors.js';
import { checkOutputDirectory, type OutputKind } from './output-directory.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-output-'));

/** Test outputs: folders holding a file `MARK`. */
const marked: OutputKind = { name: 'a marked folder', holds: (dir) => existsSync(join(dir, 'MARK')) };
const output = [
  { name: 'data', bytes: 'new' },
  { name: 'MARK', bytes: '' },
];

/** A folder of someone's files, which no writer may delete. */
function someonesFolder(path: string): string {
  mkdirSync(join(path, 'notes'), { recursive: true });
  writeFileSync(join(path, 'thesis.tex'), 'years of work');
  writeFileSync(join(path, 'notes', 'a.txt'), 'a');
  return path;
}

function checkpoint(kind: string, v = 1): CheckpointData {
  return { config: makeCheckpointConfig(kind, { v }), tensors: { model: { w: { dtype: 'F32', shape: [1], data: Float32Array.of(v) } } } };
}

describe('the directory writer replaces only its own kind of output', () => {
  it('refuses a non-empty folder of anything else and leaves it untouched; force replaces it', async () => {
    const dir = someonesFolder(join(tmp(), 'out'));
    const err = await writeDirectoryAtomic(dir, output, { kind: marked }).catch((e: unknown) => e);
    expect(isFarmerError(err, 'FARMER_E_OUTPUT_EXISTS'), String(err)).toBe(true);
    expect((err as Error).message).toBe(
      `${dir} is a folder holding 2 entries (notes/, thesis.tex), not a marked folder; writing there would delete it. Choose another folder, or pass --force to replace it`,
    );
    expect(readFileSync(join(dir, 'thesis.tex'), 'utf8')).toBe('years of work');
    expect(readdirSync(join(dir, '..'))).toEqual(['out']);
    await writeDirectoryAtomic(dir, output, { kind: marked, force: true });
    expect(readdirSync(dir).sort()).toEqual(['MARK', 'data']);
  });

  it('refuses a file at the target; force replaces it', async () => {
    const file = join(tmp(), 'out');
    writeFileSync(file, 'precious');
    await expect(writeDirectoryAtomic(file, output, { kind: marked })).rejects.toThrow(/out is a file, not a marked folder; .*pass --force/);
    expect(readFileSync(file, 'utf8')).toBe('precious');
    await writeDirectoryAtomic(file, output, { kind: marked, force: true });
    expect(readFileSync(join(file, 'data'), 'utf8')).toBe('new');
  });

  it('writes a missing target (and its parents), fills an empty folder and replaces its own kind', async () => {
    const parent = tmp();
    const dir = join(parent, 'a', 'b', 'out');
    await writeDirectoryAtomic(dir, output, { kind: marked });
    await writeDirectoryAtomic(dir, [{ name: 'MARK', bytes: 'again' }], { kind: marked });
    expect(readdirSync(dir)).toEqual(['MARK']);
    const empty = join(parent, 'empty');
    mkdirSync(empty);
    await writeDirectoryAtomic(empty, output, { kind: marked });
    expect(readdirSync(empty).sort()).toEqual(['MARK', 'data']);
  });

  it('checkOutputDirectory says so before any work, and names an unwritable parent', () => {
    const parent = tmp();
    const dir = someonesFolder(join(parent, 'out'));
    expect(() => checkOutputDirectory(dir, marked)).toThrow(/is a folder holding 2 entries/);
    expect(() => checkOutputDirectory(dir, marked, { force: true })).not.toThrow();
    expect(() => checkOutputDirectory(join(parent, 'new'), marked)).not.toThrow();
    const file = join(parent, 'file');
    writeFileSync(file, 'x');
    const under = (() => {
      try {
        checkOutputDirectory(join(file, 'out'), marked, { force: true });
      } catch (e) {
        return e;
      }
    })();
    expect(isFarmerError(under, 'FARMER_E_BAD_INPUT'), String(under)).toBe(true);
    expect((under as Error).message).toMatch(/cannot write a marked folder to .*file\/out \(into .*file\): it is an existing file; choose another location/);
  });
});

describe('writeCheckpoint: a checkpoint replaces only a checkpoint of its kind', () => {
  it('refuses a folder of other files and a checkpoint of another kind; replaces its own kind (periodic writes); force replaces anything', async () => {
    const parent = tmp();
    const dir = someonesFolder(join(parent, 'ck'));
    await expect(writeCheckpoint(dir, checkpoint('farmer'))).rejects.toThrow(/ck is a folder holding 2 entries \(notes\/, thesis\.tex\), not a 'farmer' checkpoint/);
    expect(readFileSync(join(dir, 'thesis.tex'), 'utf8')).toBe('years of work');

    const clf = join(parent, 'classifier');
    await writeCheckpoint(clf, checkpoint('classifier'));
    const err = await writeCheckpoint(clf, checkpoint('farmer')).catch((e: unknown) => e);
    expect(isFarmerError(err, 'FARMER_E_OUTPUT_EXISTS')).toBe(true);
    expect((err as Error).message).toMatch(/classifier is a 'classifier' checkpoint, not a 'farmer' checkpoint; .*--force/);
    expect((await readCheckpoint(clf)).config.kind).toBe('classifier');

    const run = join(parent, 'run');
    await writeCheckpoint(run, checkpoint('farmer', 1));
    await writeCheckpoint(run, checkpoint('farmer', 2));
    expect((await readCheckpoint(run)).config.model).toEqual({ v: 2 });

    await writeCheckpoint(dir, checkpoint('farmer', 3), { force: true });
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'manifest.json', 'model.safetensors']);
  });

  it('checkpointOutput() without a kind takes any checkpoint, and only checkpoints', async () => {
    const parent = tmp();
    await writeCheckpoint(join(parent, 'flow'), checkpoint('flow'));
    writeFileSync(join(parent, 'config.json'), '{"kind": "farmer"}');
    expect(checkpointOutput().holds(join(parent, 'flow'))).toBe(true);
    expect(checkpointOutput('flow').holds(join(parent, 'flow'))).toBe(true);
    expect(checkpointOutput('farmer').holds(join(parent, 'flow'))).toBe(false);
    // A config.json that is not a farmer checkpoint's.
    expect(checkpointOutput().holds(parent)).toBe(false);
  });
});
