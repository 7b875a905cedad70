import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FarmerModel, likelihoodBitsPerDim, preset, saveFarmer } from '@farmer/ar-gmm';
import { initBackend, isFarmerError, Rng } from '@farmer/core';
import { compareRuntimeImages, generate } from '@farmer/sampling';
import { makeReadOnly, missingPackageError } from '@farmer/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { cachedExportDir, openModel, type OpenModelOptions } from '../src/index.js';
import { tinyCheckpoint, tmp } from './helpers.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** openModel with its notices collected. */
async function open<L extends boolean = false>(dir: string, options: OpenModelOptions<L> = {}) {
  const notices: string[] = [];
  const m = await openModel<L>(dir, { cacheRoot: join(tmp(), 'cache'), ...options, onNotice: (l) => notices.push(l) });
  return { m, notices };
}

describe('openModel: auto', () => {
  it('runs on onnxruntime, exporting on first use (one notice with the time), reusing the export after, re-exporting when the checkpoint changes', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'), { ema: true, studentOf: 'ema' });
    const first = await open(dir);
    expect(first.m.runtime).toBe('onnxruntime');
    expect(first.m.exportDir).toBe(join(dir, 'onnx'));
    expect(first.m.exported?.seconds).toBeGreaterThan(0);
    expect(first.notices).toHaveLength(1);
    expect(first.notices[0]).toMatch(/^exported .*ck to ONNX in \d+\.\d s → .*ck\/onnx \(first use on onnxruntime; reused while the checkpoint is unchanged\)$/);
    expect(first.m.runner.decoders).toEqual(['flow', 'jacobi', 'student']);
    expect(first.m.executionProvider?.name).toBe('cpu');
    await first.m.close();
    expect(readdirSync(dir).filter((f) => /\.(lock|tmp-.*)$/.test(f))).toEqual([]);

    const again = await open(dir);
    expect([again.m.runtime, again.m.exported, again.notices]).toEqual(['onnxruntime', undefined, []]);
    await again.m.close();

    // The checkpoint trained further: its export is stale and is made again.
    const other = FarmerModel.create(preset('mnist-tiny'), 42);
    await saveFarmer(dir, other);
    other.dispose();
    const after = await open(dir);
    expect(after.m.exported?.seconds).toBeGreaterThan(0);
    await after.m.close();
  });

  it('gives the images tfjs gives for the same seed, within the stated tolerance; batched equals alone on onnxruntime', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'), { seed: 3 });
    const ort = (await open(dir)).m;
    const tf = (await open(dir, { runtime: 'tfjs' })).m;
    expect([ort.runtime, tf.runtime]).toEqual(['onnxruntime', 'tfjs']);
    const labels = Array.from({ length: 12 }, (_, i) => i % 10);
    for (const sampler of ['resampling-cfg', 'decoupled'] as const) {
      const a = await generate(ort.runner, { count: 12, labels, seed: 5, sampler, batchSize: 12 });
      const b = await generate(tf.runner, { count: 12, labels, seed: 5, sampler, batchSize: 12 });
      // docs/method.md §7.10 runtime agreement
      const r = compareRuntimeImages(a.images, b.images);
      expect(r.holds, `${sampler}: ${r.summary}`).toBe(true);
      // Each image alone (its own seed, batch of one) gives exactly its bytes in the batch.
      const per = a.images.data.length / 12;
      for (const i of [0, 5, 11]) {
        const alone = await generate(ort.runner, { count: 1, labels: [labels[i]], imageSeeds: [`5:${i}`], sampler, batchSize: 1 });
        expect(Buffer.from(alone.images.data).equals(Buffer.from(a.images.data.subarray(i * per, (i + 1) * per))), `${sampler} image ${i}`).toBe(true);
      }
    }
    await ort.close();
    await tf.close();
  });

  it('exports a read-only checkpoint into the cache, leaving the checkpoint untouched', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'));
    const cacheRoot = join(tmp(), 'cache');
    const undo = makeReadOnly(dir);
    expect(undo, 'this machine cannot make a directory read-only').toBeDefined();
    try {
      const { m, notices } = await open(dir, { cacheRoot });
      expect(m.runtime).toBe('onnxruntime');
      expect(m.exportDir).toBe(cachedExportDir(dir, cacheRoot));
      expect(notices[0]).toMatch(new RegExp(`→ ${cacheRoot}/onnx/ck-[0-9a-f]{12} `));
      expect(existsSync(join(dir, 'onnx'))).toBe(false);
      await m.close();
      const again = await open(dir, { cacheRoot });
      expect([again.m.exportDir, again.notices]).toEqual([m.exportDir, []]);
      await again.m.close();
    } finally {
      undo?.();
    }
  });

  it('concurrent first uses by several processes export once, under a lock, and all run on onnxruntime', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'), { seed: 7 });
    const script = `
      const { initBackend } = await import('@farmer/core');
      const { openModel } = await import('@farmer/runtime');
      await initBackend({ backend: 'wasm' });
      const m = await openModel(process.argv[1]);
      console.log(JSON.stringify({ runtime: m.runtime, seconds: m.exported?.seconds ?? null }));
      await m.close();`;
    const run = () =>
      new Promise<{ runtime: string; seconds: number | null }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`exit ${code}`))));
      });
    const results = await Promise.all([run(), run(), run()]);
    expect(results.map((r) => r.runtime)).toEqual(['onnxruntime', 'onnxruntime', 'onnxruntime']);
    // One process wrote the export; the others waited for its lock and reused it.
    expect(results.filter((r) => r.seconds !== null && r.seconds > 0)).toHaveLength(1);
    expect(readdirSync(dir).filter((f) => f.startsWith('onnx')).sort()).toEqual(['onnx']);
  });

  it('falls back to tfjs, saying why: onnxruntime-node missing, the raw weights asked for, an export that cannot be written', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'), { ema: true });
    const broken = await open(dir, { loadOrtRuntime: async () => new Error('libonnxruntime.so.1: cannot open shared object file') });
    expect([broken.m.runtime, broken.notices]).toEqual(['tfjs', ['running on tfjs: onnxruntime-node failed to load (libonnxruntime.so.1: cannot open shared object file)']]);
    expect(broken.m.fallback).toMatch(/onnxruntime-node failed to load/);
    await broken.m.close();

    const raw = await open(dir, { ema: false });
    expect(raw.m.runtime).toBe('tfjs');
    expect(raw.notices).toEqual(['running on tfjs: the raw weights (--no-ema) were asked for, and an ONNX export holds the EMA weights']);
    await raw.m.close();

    // Neither the checkpoint nor the cache can be written.
    const blocked = join(tmp(), 'not-a-dir');
    writeFileSync(blocked, '');
    const undo = makeReadOnly(dir);
    try {
      const nowhere = await open(dir, { cacheRoot: blocked });
      expect(nowhere.m.runtime).toBe('tfjs');
      expect(nowhere.notices[0]).toMatch(/^running on tfjs: the ONNX export of .*ck failed \(/);
      await nowhere.m.close();
    } finally {
      undo?.();
    }
  });

  it('falls back to tfjs when onnxruntime-node is not installed (npm dropped the optional dependency), saying why and how to install it, in one line', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'));
    const missing = missingPackageError('onnxruntime-node');
    const r = await open(dir, { loadOrtRuntime: async () => missing });
    expect(r.m.runtime).toBe('tfjs');
    expect(r.notices).toEqual([
      'running on tfjs: onnxruntime-node is not installed (npm leaves out this optional dependency when its install script fails, e.g. without access to api.nuget.org); ' +
        'for onnxruntime on the CPU, install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0`',
    ]);
    expect(r.m.fallback).toBe(r.notices[0].replace('running on tfjs: ', ''));
    await r.m.close();
    const err = await openModel(dir, { runtime: 'onnx', loadOrtRuntime: async () => missing }).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_BACKEND')).toBe(true);
    expect(err.message).toMatch(/^--runtime onnx needs onnxruntime-node: onnxruntime-node is not installed .*`ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1\.30\.0`$/);
  });

  it('falls back to tfjs when <checkpoint>/onnx holds something else, which it leaves alone', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'));
    mkdirSync(join(dir, 'onnx'));
    writeFileSync(join(dir, 'onnx', 'notes.txt'), 'mine');
    const r = await open(dir);
    expect(r.m.runtime).toBe('tfjs');
    expect(r.notices).toEqual([expect.stringMatching(/^running on tfjs: the ONNX export of .*ck failed \(.*onnx is a folder holding 1 entry \(notes\.txt\), not an ONNX export/)]);
    expect(readdirSync(join(dir, 'onnx'))).toEqual(['notes.txt']);
    await r.m.close();
  });
});

describe('openModel: onnx and tfjs', () => {
  it('onnx never exports: no export (or a stale one) is an error naming the fix; one that exists runs', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'));
    const err = await openModel(dir, { runtime: 'onnx' }).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_NOT_FOUND')).toBe(true);
    expect(err.message).toMatch(/ck has no ONNX export; write one with: farmer export onnx --checkpoint .*ck \(or drop --runtime onnx: the default, auto, exports on first use\)/);
    expect(existsSync(join(dir, 'onnx'))).toBe(false);
    await (await open(dir)).m.close();
    const m = await openModel(dir, { runtime: 'onnx' });
    expect(m.runtime).toBe('onnxruntime');
    await m.close();
    // The checkpoint is rewritten (which drops its onnx/ folder); an old export put back is stale.
    const kept = join(tmp(), 'onnx');
    cpSync(join(dir, 'onnx'), kept, { recursive: true });
    const other = FarmerModel.create(preset('mnist-tiny'), 43);
    await saveFarmer(dir, other);
    other.dispose();
    cpSync(kept, join(dir, 'onnx'), { recursive: true });
    const stale = await openModel(dir, { runtime: 'onnx' }).catch((e) => e);
    expect(stale.message).toMatch(/has no up-to-date ONNX export \((config\.json|model\.safetensors) in .* changed after the export was made/);
  });

  it('onnx refuses the raw weights and a missing onnxruntime-node; tfjs never exports', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'));
    await expect(openModel(dir, { runtime: 'onnx', ema: false })).rejects.toThrow(/--no-ema needs the tfjs runtime/);
    const err = await openModel(dir, { runtime: 'onnx', loadOrtRuntime: async () => new Error('no binding') }).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_BACKEND')).toBe(true);
    expect(err.message).toBe('--runtime onnx needs onnxruntime-node: onnxruntime-node failed to load (no binding)');
    const { m, notices } = await open(dir, { runtime: 'tfjs' });
    expect([m.runtime, notices, existsSync(join(dir, 'onnx'))]).toEqual(['tfjs', [], false]);
    await m.close();
  });

  it('a broken checkpoint is an error, not a fallback; an export folder opens on its own', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'));
    writeFileSync(join(dir, 'model.safetensors'), 'garbage');
    const err = await openModel(dir, { cacheRoot: join(tmp(), 'cache') }).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_CORRUPT')).toBe(true);
    expect(err.message).toMatch(/model\.safetensors is 7 bytes, the manifest says/);

    const good = await tinyCheckpoint(join(tmp(), 'ck'));
    await (await open(good)).m.close();
    const m = await openModel(join(good, 'onnx'));
    expect([m.runtime, m.dir]).toEqual(['onnxruntime', join(good, 'onnx')]);
    await m.close();
    await expect(openModel(join(good, 'onnx'), { runtime: 'tfjs' })).rejects.toThrow(/is an ONNX export, which runs on onnxruntime only/);
    rmSync(join(good, 'onnx'), { recursive: true });
  });

  it('a checkpoint file truncated after its export was made is an error naming it on auto and onnx, not a silent run of the export', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'));
    await (await open(dir)).m.close();
    expect(existsSync(join(dir, 'onnx', 'manifest.json'))).toBe(true);
    truncateSync(join(dir, 'model.safetensors'), 1000);
    for (const runtime of ['auto', 'onnx'] as const) {
      const err = await openModel(dir, { runtime, cacheRoot: join(tmp(), 'cache') }).then(
        async (m) => (await m.close(), `opened on ${m.runtime}`),
        (e: unknown) => e,
      );
      expect(isFarmerError(err, 'FARMER_E_CORRUPT'), `${runtime}: ${String(err)}`).toBe(true);
      expect((err as Error).message).toMatch(/ck\/model\.safetensors is 1000 bytes, the manifest says \d+ \(truncated or replaced\); restore it/);
    }
  });
});

describe('openModel: what the model can do', () => {
  it('a sampler always; a likelihood only when opened for one, on either runtime, where both score alike', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'), { seed: 4 });
    const bpd: Record<string, Float64Array> = {};
    let images;
    for (const runtime of ['auto', 'tfjs'] as const) {
      const sampler = (await open(dir, { runtime })).m;
      // Opened for sampling only (an onnxruntime model then has no likelihood sessions): no likelihood is offered.
      expect([sampler.runtime, sampler.likelihood]).toEqual([runtime === 'auto' ? 'onnxruntime' : 'tfjs', undefined]);
      images ??= (await generate(sampler.runner, { count: 3, labels: [1, 4, 7], seed: 2 })).images;
      await sampler.close();
      const both = (await open(dir, { runtime, likelihood: true })).m;
      expect(both.likelihood?.runtime).toBe(both.runtime);
      expect((await generate(both.runner, { count: 1, labels: 1, seed: 2 })).images.count).toBe(1);
      bpd[runtime] = await likelihoodBitsPerDim(both.likelihood, images, [1, 4, 7], new Rng('caps'));
      await both.close();
    }
    for (let i = 0; i < 3; i++) expect(bpd.auto[i]).toBeCloseTo(bpd.tfjs[i], 3);
  });
});
