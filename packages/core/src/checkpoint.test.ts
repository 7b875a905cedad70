import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkCheckpointFileSizes } from './checkpoint-file-sizes.js';
import { checkTensorShapes, makeCheckpointConfig, readCheckpoint, readManifest, writeCheckpoint, type CheckpointData } from './checkpoint.js';
import { isFarmerError, type FarmerErrorCode } from './errors.js';
import { recoverInterruptedWrite } from './interrupted-writes.js';
import { f32 } from './safetensors.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-ckpt-'));
/** The pid of a process that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;

function sample(step = 1): CheckpointData {
  return {
    config: makeCheckpointConfig('test', { width: 4 }, { training: { step } }),
    tensors: {
      model: { 'a.weight': f32([1, 2, 3, 4, 5, 6], [2, 3]), 'a.bias': f32([step, 0], [2]) },
      optimizer: { 'm.a.weight': f32(new Float32Array(6), [2, 3]), step: { dtype: 'I64', shape: [], data: BigInt64Array.from([BigInt(step)]) } },
    },
  };
}

async function expectError(p: Promise<unknown>, code: FarmerErrorCode, re: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (err) => err);
  expect(isFarmerError(e, code), `expected ${code}, got ${e}`).toBe(true);
  expect((e as Error).message).toMatch(re);
}

describe('checkpoints', () => {
  it('round-trips config, weights and optional parts with a checksum manifest', async () => {
    const dir = join(tmp(), 'ck');
    await writeCheckpoint(dir, sample(3));
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'manifest.json', 'model.safetensors', 'optimizer.safetensors']);
    const ck = await readCheckpoint(dir);
    expect(ck.config.kind).toBe('test');
    expect(ck.config.training).toEqual({ step: 3 });
    expect(ck.parts.sort()).toEqual(['model', 'optimizer']);
    expect(Array.from(ck.tensors.model['a.weight'].data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ck.tensors.optimizer.step.data).toEqual(BigInt64Array.from([3n]));
    expect(Object.keys(ck.manifest.files).sort()).toEqual(['config.json', 'model.safetensors', 'optimizer.safetensors']);
    const only = await readCheckpoint(dir, { parts: ['model'] });
    expect(Object.keys(only.tensors)).toEqual(['model']);
  });

  it('replaces an existing checkpoint atomically and leaves no temp files', async () => {
    const parent = tmp();
    const dir = join(parent, 'ck');
    await writeCheckpoint(dir, sample(1));
    await writeCheckpoint(dir, sample(2));
    expect(readdirSync(parent)).toEqual(['ck']);
    expect((await readCheckpoint(dir)).config.training).toEqual({ step: 2 });
  });

  it('keeps the old checkpoint when a write fails part-way', async () => {
    const parent = tmp();
    const dir = join(parent, 'ck');
    await writeCheckpoint(dir, sample(1));
    const broken = sample(2);
    // An invalid part name fails after config.json and model.safetensors are in the temp dir.
    (broken.tensors as Record<string, unknown>)['Bad Part'] = {};
    await expect(writeCheckpoint(dir, broken)).rejects.toThrow(/part name/);
    expect(readdirSync(parent)).toEqual(['ck']);
    expect((await readCheckpoint(dir)).config.training).toEqual({ step: 1 });
  });

  it('recovers the previous checkpoint after a crash between the two renames: readers read it in place, the next writer puts it back', async () => {
    const parent = tmp();
    const dir = join(parent, 'ck');
    await writeCheckpoint(dir, sample(1));
    const stranded = `${dir}.old-${deadPid()}-abcd`;
    await fs.rename(dir, stranded);
    expect(existsSync(dir)).toBe(false);
    const read = await readCheckpoint(dir);
    expect(read.config.training).toEqual({ step: 1 });
    expect(read.dir).toBe(stranded);
    expect(readdirSync(parent)).toEqual([basename(stranded)]);
    await recoverInterruptedWrite(dir);
    expect(readdirSync(parent)).toEqual(['ck']);
    expect((await readCheckpoint(dir)).config.training).toEqual({ step: 1 });
  });

  it('names the file when a checkpoint is missing, corrupt or truncated', async () => {
    const base = tmp();
    await expectError(readCheckpoint(join(base, 'nope')), 'FARMER_E_NOT_FOUND', /does not exist/);

    const corrupt = join(base, 'corrupt');
    await writeCheckpoint(corrupt, sample());
    const file = join(corrupt, 'model.safetensors');
    const bytes = await fs.readFile(file);
    bytes[bytes.length - 1] ^= 0xff;
    await fs.writeFile(file, bytes);
    await expectError(readCheckpoint(corrupt), 'FARMER_E_CORRUPT', /model\.safetensors fails its SHA-256 check/);

    const truncated = join(base, 'truncated');
    await writeCheckpoint(truncated, sample());
    const tf = join(truncated, 'optimizer.safetensors');
    await fs.writeFile(tf, (await fs.readFile(tf)).subarray(0, 20));
    await expectError(readCheckpoint(truncated), 'FARMER_E_CORRUPT', /optimizer\.safetensors is 20 bytes, the manifest says/);

    const missing = join(base, 'missing');
    await writeCheckpoint(missing, sample());
    await fs.rm(join(missing, 'model.safetensors'));
    await expectError(readCheckpoint(missing), 'FARMER_E_NOT_FOUND', /missing model\.safetensors/);
  });

  it("checks files' sizes against the manifest with a stat, without reading them", async () => {
    const dir = join(tmp(), 'ck');
    await writeCheckpoint(dir, sample());
    const manifest = await readManifest(dir);
    await expect(checkCheckpointFileSizes(dir, manifest)).resolves.toBeUndefined();
    const file = join(dir, 'model.safetensors');
    await fs.truncate(file, 10);
    await expectError(checkCheckpointFileSizes(dir, manifest, ['model.safetensors']), 'FARMER_E_CORRUPT', /model\.safetensors is 10 bytes, the manifest says \d+ \(truncated or replaced\); restore it/);
    // Only the files asked about are checked.
    await expect(checkCheckpointFileSizes(dir, manifest, ['config.json', 'optimizer.safetensors'])).resolves.toBeUndefined();
    await fs.rm(file);
    await expectError(checkCheckpointFileSizes(dir, manifest, ['model.safetensors']), 'FARMER_E_NOT_FOUND', /checkpoint .* is missing model\.safetensors/);
    // A name the manifest does not list (own entries only: not even 'toString').
    await expectError(checkCheckpointFileSizes(dir, manifest, ['toString']), 'FARMER_E_CORRUPT', /manifest\.json does not list toString/);
  });

  it('detects a corrupt safetensors body even without checksums', async () => {
    const dir = join(tmp(), 'ck');
    await writeCheckpoint(dir, sample());
    const file = join(dir, 'model.safetensors');
    const bytes = await fs.readFile(file);
    bytes.fill(0x7b, 8, 12); // garbage in the JSON header
    await fs.writeFile(file, bytes);
    await expectError(readCheckpoint(dir, { verify: false }), 'FARMER_E_CORRUPT', /model\.safetensors: header is not valid JSON/);
  });

  it('refuses a newer format version and an invalid config', async () => {
    const dir = join(tmp(), 'ck');
    await writeCheckpoint(dir, sample());
    const cfg = JSON.parse(await fs.readFile(join(dir, 'config.json'), 'utf8'));
    cfg.formatVersion = 99;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    await expectError(readCheckpoint(dir, { verify: false }), 'FARMER_E_VERSION', /format version 99.*Upgrade farmer-ts/);
    cfg.formatVersion = 1;
    delete cfg.kind;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    await expectError(readCheckpoint(dir, { verify: false }), 'FARMER_E_CORRUPT', /config\.json is invalid: kind/);
  });

  it('readManifest reads a checkpoint manifest or, given its schema, another format\'s, naming the file on error', async () => {
    const dir = join(tmp(), 'ck');
    await writeCheckpoint(dir, sample());
    const m = await readManifest(dir);
    expect(Object.keys(m.files).sort()).toEqual(['config.json', 'model.safetensors', 'optimizer.safetensors']);
    expect(m.files['config.json'].sha256).toMatch(/^[0-9a-f]{64}$/);
    await expectError(readManifest(dir, { schema: z.object({ format: z.literal('other') }) }), 'FARMER_E_CORRUPT', /manifest\.json is invalid: format/);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, formatVersion: 99 }));
    await expectError(readManifest(dir), 'FARMER_E_VERSION', /format version 99/);
    writeFileSync(join(dir, 'manifest.json'), '{ not json');
    await expectError(readManifest(dir, { schema: z.unknown(), fix: 're-export it' }), 'FARMER_E_CORRUPT', /manifest\.json is not valid JSON \(.*\); re-export it$/);
    await fs.rm(join(dir, 'manifest.json'));
    await expectError(readManifest(dir), 'FARMER_E_NOT_FOUND', /holds no manifest\.json, so it is not a \(complete\) checkpoint$/);
    await expectError(readManifest(dir, { schema: z.unknown(), what: 'ONNX export', fix: 're-run it' }), 'FARMER_E_NOT_FOUND', /not a \(complete\) ONNX export; re-run it$/);
  });

  it('reports missing, unexpected and mismatched tensors by name', () => {
    const t = sample().tensors.model;
    expect(() => checkTensorShapes(t, { 'a.weight': [2, 3], 'a.bias': [2] }, 'm.safetensors')).not.toThrow();
    expect(() => checkTensorShapes(t, { 'a.weight': [3, 2], 'a.bias': [2] }, 'm.safetensors')).toThrow(/m\.safetensors: tensor 'a\.weight' has shape \[2,3\], the config needs \[3,2\]/);
    expect(() => checkTensorShapes(t, { 'a.weight': [2, 3], 'a.bias': [2], 'b.weight': [1] }, 'm.safetensors')).toThrow(/missing tensor 'b\.weight'/);
    expect(() => checkTensorShapes(t, { 'a.weight': [2, 3] }, 'm.safetensors')).toThrow(/unexpected tensor 'a\.bias'/);
    // A file's tensor named like an Object.prototype member is still unexpected.
    for (const name of ['constructor', 'toString', '__proto__']) {
      const withExtra = Object.fromEntries([...Object.entries(t), [name, f32([1], [1])]]);
      expect(() => checkTensorShapes(withExtra, { 'a.weight': [2, 3], 'a.bias': [2] }, 'm.safetensors'), name).toThrow(new RegExp(`unexpected tensor '${name}'`));
    }
    let code;
    try {
      checkTensorShapes(t, { 'a.weight': [1] }, 'm');
    } catch (e) {
      code = (e as { code: string }).code;
    }
    expect(code).toBe('FARMER_E_SHAPE');
  });
});
