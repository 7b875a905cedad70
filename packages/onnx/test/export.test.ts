import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { FarmerModel, preset, saveFarmer } from '@farmer/ar-gmm';
import { initBackend, isFarmerError, readCheckpoint, readManifest, type FarmerErrorCode } from '@farmer/core';
import { attachStudent, flowFingerprint, Student } from '@farmer/flow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportFarmerOnnx, exportMatchesCheckpoint, exportOnnx, ONNX_OPSET, OnnxManifestSchema, readOnnxExport, type OnnxManifest } from '../src/index.js';
import { loadOrtRunner, type OrtRunner } from '../src/runtime/index.js';
import { randomModel, tempDir } from './helpers.js';

let model: FarmerModel;
let root: string;
let good: string;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  model = randomModel(preset('mnist-tiny'), 5);
  root = await tempDir('export');
  await saveFarmer(join(root, 'ckpt'), model);
  good = (await exportOnnx(join(root, 'ckpt'), join(root, 'good'))).dir;
});

afterAll(async () => {
  model?.dispose();
  if (root) await fs.rm(root, { recursive: true, force: true });
});

/** A fresh copy of the good export to break. */
async function copyOfGood(name: string): Promise<string> {
  const dir = join(root, name);
  await fs.cp(good, dir, { recursive: true });
  return dir;
}

function readExportManifest(dir: string): Promise<OnnxManifest> {
  return readManifest(dir, { schema: OnnxManifestSchema });
}

async function writeManifest(dir: string, m: unknown): Promise<void> {
  await fs.writeFile(join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
}

/** Loading must fail with `code`, a message matching `message`, and never crash. */
async function expectRefused(dir: string, code: FarmerErrorCode, message: RegExp): Promise<void> {
  let err: unknown;
  try {
    const r = await loadOrtRunner(dir, { executionProvider: 'cpu' });
    await r.dispose();
  } catch (e) {
    err = e;
  }
  expect(isFarmerError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
  expect((err as Error).message).toMatch(message);
}

describe('exportOnnx', () => {
  it('writes every graph, the shared weights and a manifest with signatures, opset and checksums', async () => {
    const m = await readExportManifest(good);
    expect(m).toMatchObject({ format: 'farmer-onnx', formatVersion: 1, irVersion: 8, opset: ONNX_OPSET });
    expect(m.model).toEqual(model.config);
    expect(m.source.checkpoint).toBe(join(root, 'ckpt'));
    expect(m.source.part).toBe('model');
    expect(Object.keys(m.source.files!)).toEqual(['config.json', 'model.safetensors']);
    expect(m.graphs.flowReverseSteps.map((g) => g.file)).toEqual(['flow-reverse-step-0.onnx', 'flow-reverse-step-1.onnx']);
    expect(m.graphs.flowReverseBlocks!.map((g) => `${g.file}: ${g.inputs.map((i) => `${i.name}[${i.shape}]`)} → ${g.outputs.map((i) => `${i.name}[${i.shape}]`)}`)).toEqual([
      'flow-reverse-block-0.onnx: z[batch,49,16] → x[batch,49,16]',
      'flow-reverse-block-1.onnx: z[batch,49,16] → x[batch,49,16]',
    ]);
    expect(m.graphs.student).toBeUndefined();
    expect(m.graphs.flowForward.inputs).toEqual([{ name: 'images', dtype: 'float32', shape: ['batch', 1, 28, 28] }]);
    expect(m.graphs.flowForward.outputs).toEqual([
      { name: 'z', dtype: 'float32', shape: ['batch', 49, 16] },
      { name: 'logdets', dtype: 'float32', shape: ['batch', 2] },
    ]);
    // AF step: x, z_next and one k/v pair per layer (1 layer per block in mnist-tiny; 2 heads of 16).
    expect(m.graphs.flowReverseSteps[1].inputs.map((i) => `${i.name}[${i.shape}]`)).toEqual([
      'x[batch,16]',
      'z_next[batch,16]',
      'past_key.0[batch,2,past,16]',
      'past_value.0[batch,2,past,16]',
    ]);
    expect(m.graphs.arStep.inputs.map((i) => i.name)).toEqual(['z_informative', 'past_key.0', 'past_value.0']);
    expect(m.graphs.arStep.outputs.map((i) => `${i.name}[${i.shape}]`)).toEqual(['head[batch,36]', 'hidden[batch,32]', 'present_key.0[batch,2,present,16]', 'present_value.0[batch,2,present,16]']);
    expect(m.graphs.arHeadRedundant!.outputs).toEqual([{ name: 'head', dtype: 'float32', shape: ['batch', 2 * (1 + 2 * 12)] }]);
    expect(m.graphs.arPrefill.outputs[0]).toEqual({ name: 'head', dtype: 'float32', shape: ['batch', 4 * (1 + 2 * 4)] });
    for (const [name, f] of Object.entries(m.files)) {
      const bytes = await fs.readFile(join(good, name));
      expect(bytes.length, name).toBe(f.bytes);
      expect(createHash('sha256').update(bytes).digest('hex'), name).toBe(f.sha256);
    }
    // Weights are stored once, as external data shared by the graphs.
    expect(Object.keys(m.files).filter((f) => f.endsWith('.weights')).sort()).toEqual(['ar.weights', 'flow.weights']);
    const params = FarmerModel.countParams(model.config).total;
    const weightBytes = m.files['ar.weights'].bytes + m.files['flow.weights'].bytes;
    expect(weightBytes).toBeGreaterThanOrEqual(4 * params);
    expect(weightBytes).toBeLessThan(4 * params + 64 * 200);
  });

  it('reports the execution provider and why CUDA was skipped', async () => {
    const r = await loadOrtRunner(good);
    try {
      expect(['cpu', 'cuda']).toContain(r.executionProvider.name);
      expect(r.executionProvider.requested).toBe('auto');
      if (r.executionProvider.name === 'cpu') expect(r.executionProvider.skipped[0]?.name).toBe('cuda');
    } finally {
      await r.dispose();
    }
    await expect(loadOrtRunner(good, { executionProvider: 'tpu' as never })).rejects.toThrow(/unknown onnxruntime execution provider 'tpu'/);
  });

  it('opens only the graphs a purpose needs, and says so when another is used', async () => {
    const r = await loadOrtRunner(good, { executionProvider: 'cpu', purposes: ['likelihood'] });
    try {
      expect(r.decoders).toEqual([]);
      expect(() => r.openArStream([1])).toThrow(/opened without 'sample'/);
    } finally {
      await r.dispose();
    }
    expect(() => r.openArStream([1])).toThrow(/disposed/);
  });

  it('replaces an earlier export but refuses a non-empty folder that is not one', async () => {
    await exportOnnx(join(root, 'ckpt'), good);
    await readOnnxExport(good);
    const other = join(root, 'other');
    await fs.mkdir(other);
    await fs.writeFile(join(other, 'notes.txt'), 'mine');
    await expect(exportFarmerOnnx(model, other)).rejects.toThrow(/other is a folder holding 1 entry \(notes\.txt\), not an ONNX export; .*pass --force/);
    expect(await fs.readFile(join(other, 'notes.txt'), 'utf8')).toBe('mine');
    await exportFarmerOnnx(model, other, { force: true });
    await readOnnxExport(other);
  });
});

describe('which weights exportOnnx takes', () => {
  it('EMA when present (as loadTfRunner), the raw ones with ema: false; a student pins its teacher\'s part', async () => {
    const ema = randomModel(preset('mnist-tiny'), 6);
    const ck = join(root, 'ckpt-ema');
    await saveFarmer(ck, model, { tensors: { ema: ema.toTensorMap() } });
    const a = await exportOnnx(ck, join(root, 'from-ema'));
    expect(a.manifest.source.part).toBe('ema');
    expect(Object.keys(a.manifest.source.files!)).toEqual(['config.json', 'ema.safetensors']);
    const b = await exportOnnx(ck, join(root, 'from-model'), { ema: false });
    expect(b.manifest.source.part).toBe('model');
    expect(a.manifest.files['ar.weights'].sha256).not.toBe(b.manifest.files['ar.weights'].sha256);
    // A student distilled from the raw weights: exported with them by default, left out (with a note) when EMA is forced.
    const student = Student.fromTeacher(model.flow, {
      meta: {
        format: 'farmer-student',
        version: 1,
        flow: model.config.flow,
        prefix: 'student.',
        teacher: { part: 'model', flowFingerprint: flowFingerprint(model.toTensorMap()) },
      },
    });
    await attachStudent(ck, student);
    student.dispose();
    const c = await exportOnnx(ck, join(root, 'with-student'));
    expect(c.manifest.source.part).toBe('model');
    expect(c.manifest.graphs.student?.file).toBe('student.onnx');
    expect(c.manifest.source.student).toMatchObject({ part: 'student', teacher: { part: 'model' } });
    const d = await exportOnnx(ck, join(root, 'ema-no-student'), { ema: true });
    expect(d.manifest.graphs.student).toBeUndefined();
    expect(d.manifest.source.notes?.[0]).toMatch(/student not exported: it was distilled from the 'model' weights/);
    const e = await exportOnnx(ck, join(root, 'no-student'), { student: false });
    expect(e.manifest.graphs.student).toBeUndefined();
    ema.dispose();
  });

  it('tells whether an export still matches its checkpoint', async () => {
    const ck = join(root, 'ckpt-stale');
    await saveFarmer(ck, model);
    const out = join(root, 'stale');
    await exportOnnx(ck, out);
    const exp = await readOnnxExport(out);
    expect(await exportMatchesCheckpoint(exp, ck)).toEqual({ current: true });
    const other = randomModel(preset('mnist-tiny'), 8);
    await saveFarmer(ck, other);
    other.dispose();
    const r = await exportMatchesCheckpoint(exp, ck);
    expect(r.current).toBe(false);
    expect(r.reason).toMatch(/(config\.json|model\.safetensors) in .* changed after the export was made/);
  });

  it('refuses an export whose checkpoint files no longer have their recorded sizes (a truncated model.safetensors)', async () => {
    const ck = join(root, 'ckpt-truncated');
    await saveFarmer(ck, model);
    const exp = await readOnnxExport((await exportOnnx(ck, join(ck, 'onnx'))).dir);
    expect(await exportMatchesCheckpoint(exp, ck)).toEqual({ current: true });
    await fs.truncate(join(ck, 'model.safetensors'), 1000);
    const err = await exportMatchesCheckpoint(exp, ck).then(
      (r) => r,
      (e: unknown) => e,
    );
    expect(isFarmerError(err, 'FARMER_E_CORRUPT'), `expected FARMER_E_CORRUPT, got ${JSON.stringify(err)}`).toBe(true);
    expect((err as Error).message).toMatch(/ckpt-truncated\/model\.safetensors is 1000 bytes, the manifest says \d+ \(truncated or replaced\); restore it/);
  });

  it('never replaces a checkpoint (which has a manifest.json too)', async () => {
    await expect(exportOnnx(join(root, 'ckpt'), join(root, 'ckpt'))).rejects.toThrow(/ckpt is a 'farmer' checkpoint, not an ONNX export/);
    await readCheckpoint(join(root, 'ckpt'));
  });
});

describe('a corrupted export is refused with a clear error naming the file', () => {
  it('missing folder, missing manifest, missing graph', async () => {
    await expectRefused(join(root, 'nope'), 'FARMER_E_NOT_FOUND', /does not exist/);
    const noManifest = await copyOfGood('no-manifest');
    await fs.rm(join(noManifest, 'manifest.json'));
    await expectRefused(noManifest, 'FARMER_E_NOT_FOUND', /no manifest\.json/);
    const missing = await copyOfGood('missing');
    await fs.rm(join(missing, 'flow-reverse-step-1.onnx'));
    await expectRefused(missing, 'FARMER_E_NOT_FOUND', /missing flow-reverse-step-1\.onnx/);
  });

  it('truncated graph or weights', async () => {
    const dir = await copyOfGood('truncated');
    const f = join(dir, 'ar-step.onnx');
    const bytes = await fs.readFile(f);
    await fs.writeFile(f, bytes.subarray(0, bytes.length >> 1));
    await expectRefused(dir, 'FARMER_E_CORRUPT', /ar-step\.onnx is \d+ bytes, the manifest says \d+ \(truncated/);
    const w = await copyOfGood('truncated-weights');
    await fs.truncate(join(w, 'flow.weights'), 100);
    await expectRefused(w, 'FARMER_E_CORRUPT', /flow\.weights is 100 bytes/);
  });

  it('wrong checksum (a flipped byte, same size)', async () => {
    const dir = await copyOfGood('flipped');
    const f = join(dir, 'ar.weights');
    const bytes = await fs.readFile(f);
    bytes[bytes.length >> 1] ^= 0xff;
    await fs.writeFile(f, bytes);
    await expectRefused(dir, 'FARMER_E_CORRUPT', /ar\.weights fails its SHA-256 check/);
  });

  it('a graph onnxruntime rejects (truncated, with a matching manifest)', async () => {
    const dir = await copyOfGood('rejected');
    const f = join(dir, 'flow-forward.onnx');
    const bytes = (await fs.readFile(f)).subarray(0, 200);
    await fs.writeFile(f, bytes);
    const m = await readExportManifest(dir);
    m.files['flow-forward.onnx'] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
    await writeManifest(dir, m);
    await expectRefused(dir, 'FARMER_E_CORRUPT', /onnxruntime rejected .*flow-forward\.onnx/);
  });

  it('a graph whose inputs differ from its manifest entry', async () => {
    const dir = await copyOfGood('renamed');
    const m = await readExportManifest(dir);
    m.graphs.arStep.inputs[0].name = 'tokens';
    await writeManifest(dir, m);
    await expectRefused(dir, 'FARMER_E_CORRUPT', /ar-step\.onnx does not match its manifest entry/);
  });

  it('invalid JSON, an invalid manifest, a newer format or opset', async () => {
    const dir = await copyOfGood('bad-manifest');
    await fs.writeFile(join(dir, 'manifest.json'), '{ not json');
    await expectRefused(dir, 'FARMER_E_CORRUPT', /manifest\.json is not valid JSON/);
    const m = await readExportManifest(good);
    await writeManifest(dir, { ...m, graphs: { ...m.graphs, arStep: undefined } });
    await expectRefused(dir, 'FARMER_E_CORRUPT', /not a valid farmer ONNX manifest: graphs\.arStep/);
    await writeManifest(dir, { ...m, formatVersion: 2 });
    await expectRefused(dir, 'FARMER_E_VERSION', /format version 2; this farmer-ts reads version 1/);
    await writeManifest(dir, { ...m, opset: 99 });
    await expectRefused(dir, 'FARMER_E_VERSION', /opset 99/);
    await writeManifest(dir, { ...m, model: { ...m.model, numClasses: -1 } });
    await expectRefused(dir, 'FARMER_E_CORRUPT', /numClasses/);
  });

  it("a graph file named like an Object member ('toString', 'constructor') that the manifest's file list lacks", async () => {
    const dir = await copyOfGood('object-member-file');
    const m = await readExportManifest(good);
    for (const name of ['toString', 'constructor']) {
      await writeManifest(dir, { ...m, graphs: { ...m.graphs, arStep: { ...m.graphs.arStep, file: name } } });
      await expectRefused(dir, 'FARMER_E_CORRUPT', new RegExp(`graph arStep uses ${name}, which the manifest's file list lacks`));
    }
  });
});
