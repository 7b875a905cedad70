import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng, FASHION_MNIST_CLASSES, initBackend, loadDataset, gatherExamples } from '@farmer/core';
import { FarmerModel, preset, saveFarmer, Trainer } from '@farmer/ar-gmm';
import { OOD_SCORES } from '@farmer/eval';
import { builtinClassifierDir } from '@farmer/models';
import { deadPid, makeReadOnly } from '@farmer/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';

const BIN = join(__dirname, '..', 'dist', 'bin.js');
let work: string;
let modelsDir: string;

function farmer(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? work,
    env: { ...process.env, FARMER_MODELS_DIR: modelsDir, FARMER_BACKEND: 'wasm', ...opts.env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs `farmer serve ARGS` (on a free port), calls `use` with its URL once it
 * serves, then stops it with SIGTERM; resolves to what `use` returned and
 * the server's stderr, and checks the server exits 0.
 */
async function serveOnce<T>(args: string[], use: (url: string) => Promise<T>, env: Record<string, string> = {}): Promise<{ value: T; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--log-level', 'warn', ...args], { cwd: work, env: { ...process.env, FARMER_MODELS_DIR: modelsDir, FARMER_BACKEND: 'wasm', ...env } });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  const url = await new Promise<string>((resolve, reject) => {
    const iv = setInterval(() => {
      const m = /serving \d+ model\(s\) at (http:\/\/\S+) /.exec(err);
      if (m) {
        clearInterval(iv);
        resolve(m[1].replace('0.0.0.0', '127.0.0.1'));
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(iv);
      reject(new Error(`farmer serve exited ${code} before serving: ${err}`));
    });
  });
  try {
    return { value: await use(url), stderr: err };
  } finally {
    child.kill('SIGTERM');
    expect(await exited, err).toBe(0);
  }
}

/** A copy of the built-in stand-in, `work/name`, whose model.safetensors has one flipped byte. */
function corruptCopy(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (const f of ['config.json', 'manifest.json', 'model.safetensors']) writeFileSync(join(dir, f), readFileSync(join(modelsDir, 'mnist-small', f)));
  const bytes = readFileSync(join(dir, 'model.safetensors'));
  bytes[bytes.length - 5] ^= 0x55;
  writeFileSync(join(dir, 'model.safetensors'), bytes);
  return dir;
}

function png(path: string) {
  return decodePng(new Uint8Array(readFileSync(path)), 3);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'farmer-cli-'));
  // A small stand-in for the built-in model: mnist-tiny, trained briefly, saved as models/mnist-small.
  modelsDir = join(work, 'models');
  mkdirSync(modelsDir);
  await initBackend({ backend: 'wasm' });
  const all = await loadDataset('mnist');
  const train = { ...all, ...gatherExamples(all, Int32Array.from({ length: 512 }, (_, i) => i * 17)) };
  const model = FarmerModel.create(preset('mnist-tiny'), 3);
  const t = Trainer.create({ model, train, config: { steps: 30, batchSize: 16, lr: 3e-3, evalEvery: 0, checkpointEvery: 0, ema: null } });
  await t.run();
  t.dispose();
  await saveFarmer(join(modelsDir, 'mnist-small'), model);
  // The same model where nothing opens it before the test that needs it without an export.
  await saveFarmer(join(work, 'fresh-models', 'mnist-small'), model);
  model.dispose();
});

describe('farmer --help', () => {
  const commands = [[], ['demo'], ['train'], ['sample'], ['eval'], ['eval', 'bpd'], ['inspect'], ['import'], ['import', 'tarflow'], ['encode'], ['decode'], ['explore'], ['explore', 'separation'], ['export'], ['export', 'weights'], ['export', 'onnx'], ['eval', 'agreement'], ['distill'], ['serve'], ['eval', 'fid'], ['eval', 'logdet'], ['eval', 'train-classifier'], ['eval', 'report'], ['classify'], ['eval', 'classify'], ['eval', 'ood']];
  it.each(commands.map((c) => [c.join(' ') || '(root)', c]))('%s --help exits 0 with usage', (_, c) => {
    const r = farmer([...(c as string[]), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: farmer/);
  });
});

/** A folder of MNIST-layout IDX files (the t10k split, and the train split when asked) holding `count` random 28×28 images each. */
function idxFolder(name: string, count: number, splits: readonly string[] = ['t10k']): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const head = (magic: number, dims: number[]) => Buffer.from(new Uint8Array(new Uint32Array([magic, ...dims]).buffer).map((_, i, a) => a[(i & ~3) + 3 - (i & 3)]));
  const pixels = Buffer.from(Array.from({ length: count * 784 }, (_, i) => (i * 7919) % 256));
  for (const split of splits) {
    writeFileSync(join(dir, `${split}-images-idx3-ubyte`), Buffer.concat([head(0x803, [count, 28, 28]), pixels]));
    writeFileSync(join(dir, `${split}-labels-idx1-ubyte`), Buffer.concat([head(0x801, [count]), Buffer.alloc(count)]));
  }
  return dir;
}

describe('classify, eval classify, eval ood', () => {
  it('classifies PNGs and dataset images, evaluates calibration and OOD AUROC, and refuses bad usage with exit 2', () => {
    expect(farmer(['classify']).code).toBe(2);
    const both = farmer(['classify', 'a.png', '--data', 'mnist']);
    expect([both.code, both.stderr]).toEqual([2, expect.stringMatching(/not both/)]);
    const missing = farmer(['classify', 'nope.png']);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/nope\.png does not exist/)]);
    expect(farmer(['classify', '--data', 'mnist', '--temperature', '0']).code).toBe(2);

    const sa = farmer(['sample', '--labels', '1,7', '--seed', '2', '--out', 'cls.png', '--separate', 'each', '--runtime', 'tfjs', '--json']);
    expect(sa.code, sa.stderr).toBe(0);
    const files = JSON.parse(sa.stdout).files as string[];
    const cl = farmer(['classify', ...files, '--runtime', 'tfjs', '--json']);
    expect(cl.code, cl.stderr).toBe(0);
    const out = JSON.parse(cl.stdout);
    expect(out.images.map((r: { input: string }) => r.input)).toEqual(files);
    for (const r of out.images) {
      expect(r.posterior).toHaveLength(10);
      expect(r.posterior.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
      expect(r.posterior[r.predicted]).toBe(Math.max(...r.posterior));
    }
    const table = farmer(['classify', '--data', 'mnist', '--max-images', '10', '--runtime', 'tfjs']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^image +class +p\(class\|x\) +bits\/dim +label/);
    expect(table.stdout).toMatch(/accuracy \d+\.\d+% of 10/);

    const ec = farmer(['eval', 'classify', '--max-images', '20', '--calibration-images', '20', '--runtime', 'tfjs', '--plot', 'rel.png', '--json']);
    expect(ec.code, ec.stderr).toBe(0);
    const e = JSON.parse(ec.stdout);
    expect(e).toMatchObject({ images: 20, temperature: { fittedOn: 20 }, bins: expect.any(Array) });
    expect(e.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(20);
    expect(e.ece).toBeGreaterThanOrEqual(0);
    expect(png(join(work, 'rel.png')).width).toBeGreaterThan(300);

    // Typicality needs the training statistics that `eval ood` writes.
    const early = farmer(['classify', files[0], '--typicality', '--runtime', 'tfjs']);
    expect([early.code, early.stderr]).toEqual([2, expect.stringMatching(/farmer eval ood --checkpoint/)]);
    const ood = farmer(['eval', 'ood', '--ood-data', `idx:${idxFolder('ood-idx', 12)}`, '--max-images', '12', '--stats-images', '16', '--runtime', 'tfjs', '--plot', 'ood.png', '--json']);
    expect(ood.code, ood.stderr).toBe(0);
    const o = JSON.parse(ood.stdout);
    expect(Object.keys(o.auroc)).toEqual([...OOD_SCORES]);
    expect(Object.keys(o.fprAt95Tpr)).toEqual([...OOD_SCORES]);
    expect(o.defaultScore).toBe('complexityTypicality');
    for (const v of Object.values(o.auroc) as number[]) expect(v).toBeGreaterThanOrEqual(0);
    for (const v of Object.values(o.fprAt95Tpr) as number[]) expect(v >= 0 && v <= 1).toBe(true);
    expect(o.stats).toMatchObject({ version: 2, complexity: { mean: [expect.any(Number), expect.any(Number)] } });
    // Structured noise is far from digits under bits/dim.
    expect(o.auroc.bitsPerDim).toBeGreaterThan(0.9);
    expect(o.stats.images).toBe(16);
    expect(existsSync(join(modelsDir, 'mnist-small', 'ood-stats.json'))).toBe(true);
    for (const f of Object.values(o.plots) as string[]) expect(png(join(work, f)).width).toBeGreaterThan(300);
    const typ = farmer(['classify', files[0], '--typicality', '--runtime', 'tfjs', '--json']);
    expect(typ.code, typ.stderr).toBe(0);
    const row = JSON.parse(typ.stdout).images[0];
    expect(row.typicality).toBeCloseTo(Math.abs(out.images[0].bitsPerDim - o.stats.bitsPerDim.mean), 9);
    // With the statistics, every classification carries the default OOD score and log p(x|y*) in its three terms.
    expect(row.ood.score).toBe('complexityTypicality');
    expect(row.ood.value).toBeGreaterThanOrEqual(0);
    expect(row.terms.informative + row.terms.redundant + row.terms.logdet).toBeCloseTo(row.terms.total, 6);
    expect(row.terms.total).toBeCloseTo(Math.max(...row.logLikelihood), 9);
    expect(farmer(['classify', '--data', 'mnist', '--max-images', '3', '--runtime', 'tfjs']).stdout).toMatch(/^image +class +p\(class\|x\) +bits\/dim +complexityTypicality +label/);
  }, 240_000);

  it('eval ood --both-ways tests each model on its own data against the other\'s, and refuses an ambiguous request with exit 2', () => {
    const none = farmer(['eval', 'ood']);
    expect([none.code, none.stderr]).toEqual([2, expect.stringMatching(/--ood-data SPEC.*--both-ways/)]);
    const idx = idxFolder('both-ways-idx', 16, ['t10k', 'train']);
    const run = join(work, 'both-ways-run');
    const tr = farmer(['train', '--preset', 'mnist-tiny', '--data', `idx:${idx}`, '--steps', '2', '--batch-size', '8', '--workers', '1', '--eval-images', '8', '--out', run]);
    expect(tr.code, tr.stderr).toBe(0);
    const both = farmer(['eval', 'ood', '--both-ways', run, '--ood-data', 'mnist']);
    expect([both.code, both.stderr]).toEqual([2, expect.stringMatching(/drop --ood-data/)]);
    const r = farmer(['eval', 'ood', '--both-ways', run, '--max-images', '12', '--stats-images', '16', '--runtime', 'tfjs', '--plot', 'both.png', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o.directions.map((d: { data: string; oodData: string }) => [d.data, d.oodData])).toEqual([['mnist', `idx:${idx}`], [`idx:${idx}`, 'mnist']]);
    for (const k of OOD_SCORES) expect(o.worstAuroc[k]).toBe(Math.min(o.directions[0].auroc[k], o.directions[1].auroc[k]));
    expect(existsSync(join(work, 'both-a-complexityTypicality.png')) && existsSync(join(work, 'both-b-complexityTypicality.png'))).toBe(true);
    const text = farmer(['eval', 'ood', '--both-ways', run, '--max-images', '12', '--runtime', 'tfjs', '--plot', 'both.png']);
    expect(text.stdout).toMatch(/^\* complexityTypicality +higher +\d\.\d{4}/m);
    expect(text.stdout).toMatch(/the worse AUROC of the two directions: complexityTypicality \d\.\d{4}/);
  }, 240_000);
});

describe('train → sample → eval bpd', () => {
  it('trains mnist-tiny, samples from it and evaluates it', () => {
    const run = join(work, 'run1');
    const tr = farmer(['train', '--preset', 'mnist-tiny', '--steps', '12', '--batch-size', '8', '--workers', '1', '--eval-images', '50', '--out', run]);
    expect(tr.code, tr.stderr).toBe(0);
    // The default engine is auto: onnxruntime here; one replica as asked, its threads from the cores.
    expect(tr.stderr).toMatch(/engine: onnxruntime, 1 worker × \d+ threads?/);
    expect(JSON.parse(readFileSync(join(run, 'checkpoint', 'config.json'), 'utf8')).training).toMatchObject({ engine: 'ort', workers: 1 });
    expect(tr.stdout).toMatch(/done at step 12/);
    expect(tr.stdout).toMatch(/test bits\/dim \d+\.\d+ ± \d+\.\d+/);
    expect(existsSync(join(run, 'checkpoint', 'model.safetensors'))).toBe(true);
    expect(existsSync(join(run, 'metrics.jsonl'))).toBe(true);
    const loss = png(join(run, 'loss.png'));
    expect(loss.width).toBeGreaterThan(300);

    const sa = farmer(['sample', '--checkpoint', run, '--labels', '1,2,3', '--seed', '4', '--out', 'three.png', '--separate', 'each', '--json']);
    expect(sa.code, sa.stderr).toBe(0);
    const meta = JSON.parse(sa.stdout);
    expect(meta.labels).toEqual([1, 2, 3]);
    // The default runtime: onnxruntime, the run exported on this first use (one notice with its time).
    expect(meta.runtime).toBe('onnxruntime');
    expect(meta.exported.dir).toBe(join(run, 'checkpoint', 'onnx'));
    expect(meta.exported.seconds).toBeGreaterThan(0);
    expect(meta.parameters.sampler).toBe('resampling-cfg');
    const grid = png(join(work, 'three.png'));
    // 3 images → 2 columns × 2 rows of 28 px tiles with 2 px padding.
    expect([grid.width, grid.height]).toEqual([2 + 2 * 30, 2 + 2 * 30]);
    expect(meta.files).toHaveLength(3);
    expect(png(meta.files[0]).width).toBe(28);
    expect(JSON.parse(readFileSync(join(work, 'three.json'), 'utf8')).parameters.seed).toBe(4);

    const ev = farmer(['eval', 'bpd', '--checkpoint', run, '--max-images', '40', '--runtime', 'tfjs', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const bpd = JSON.parse(ev.stdout);
    expect(bpd.images).toBe(40);
    expect(bpd.dequantization).toBe('uniform');
    expect(bpd.bpd).toBeGreaterThan(0);

    const di = farmer(['distill', '--checkpoint', run, '--out', join(work, 'distill1'), '--steps', '4', '--batch-size', '8']);
    expect(di.code, di.stderr).toBe(0);
    expect(di.stdout).toMatch(/student added to .*run1/);
    const st = farmer(['sample', '--checkpoint', run, '--labels', '4,5', '--decoder', 'student', '--out', 'student.png', '--json']);
    expect(st.code, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout).parameters.decoder).toBe('student');
    expect(png(join(work, 'student.png')).width).toBe(2 + 2 * 30);

    const ex = farmer(['export', 'onnx', '--checkpoint', run]);
    expect(ex.code, ex.stderr).toBe(0);
    const ortSample = farmer(['sample', '--checkpoint', run, '--labels', '4,5', '--runtime', 'onnx', '--out', 'ort.png', '--json']);
    expect(ortSample.code, ortSample.stderr).toBe(0);
    expect(JSON.parse(ortSample.stdout).runtime).toBe('onnxruntime');
    const tfSample = farmer(['sample', '--checkpoint', run, '--labels', '4,5', '--runtime', 'tfjs', '--out', 'tf.png', '--json']);
    expect(JSON.parse(tfSample.stdout).runtime).toBe('tfjs');
    expect(readFileSync(join(work, 'ort.png'))).toEqual(readFileSync(join(work, 'tf.png')));
    const ortBpd = JSON.parse(farmer(['eval', 'bpd', '--checkpoint', run, '--runtime', 'onnx', '--max-images', '40', '--json']).stdout);
    expect([bpd.runtime, ortBpd.runtime]).toEqual(['tfjs', 'onnxruntime']);
    // eval bpd runs on onnxruntime by default.
    expect(JSON.parse(farmer(['eval', 'bpd', '--checkpoint', run, '--max-images', '10', '--json']).stdout).runtime).toBe('onnxruntime');
    expect(Math.abs(ortBpd.bpd - bpd.bpd)).toBeLessThan(1e-4);

    const ins = farmer(['inspect', run, '--json']);
    expect(ins.code).toBe(0);
    expect(JSON.parse(ins.stdout)).toMatchObject({ kind: 'farmer', checksums: expect.stringMatching(/^ok/), training: { step: 12 }, parts: expect.arrayContaining(['model', 'student']) });
  });

  it('resumes a run interrupted with SIGINT', async () => {
    const run = join(work, 'run2');
    // Many steps: onnxruntime trains mnist-tiny at hundreds of steps a second.
    const child = spawn(process.execPath, [BIN, 'train', '--preset', 'mnist-tiny', '--steps', '40000', '--batch-size', '8', '--workers', '1', '--out', run], {
      cwd: work,
      env: { ...process.env, FARMER_BACKEND: 'wasm' },
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await new Promise<void>((resolve) => {
      const iv = setInterval(() => {
        if (/train .* [3-9]\/40000|\d\d\/40000/.test(err)) {
          clearInterval(iv);
          child.kill('SIGINT');
          resolve();
        }
      }, 100);
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(0);
    const step = JSON.parse(readFileSync(join(run, 'checkpoint', 'config.json'), 'utf8')).training.step;
    expect(step).toBeGreaterThan(0);
    expect(step).toBeLessThan(40000);
    const re = farmer(['train', '--out', run, '--resume', '--steps', String(step + 3), '--workers', '1']);
    expect(re.code, re.stderr).toBe(0);
    expect(re.stderr).toMatch(new RegExp(`resuming .* at step ${step}`));
    expect(re.stdout).toMatch(new RegExp(`done at step ${step + 3}`));
  });

  it('--workers 2 trains data-parallel on onnxruntime and says so; --resume alone keeps the layout', () => {
    const run = join(work, 'dp-run');
    const first = farmer(['train', '--preset', 'mnist-tiny', '--steps', '3', '--batch-size', '8', '--eval-images', '8', '--engine', 'ort', '--workers', '2', '--threads', '1', '--out', run]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('engine: onnxruntime, 2 workers × 1 thread');
    expect(JSON.parse(readFileSync(join(run, 'checkpoint', 'config.json'), 'utf8')).training).toMatchObject({ engine: 'ort', workers: 2, threads: 1 });
    const re = farmer(['train', '--out', run, '--resume', '--steps', '4', '--eval-images', '8']);
    expect(re.code, re.stderr).toBe(0);
    expect(re.stderr).toContain('engine: onnxruntime, 2 workers × 1 thread');
    expect(re.stderr).not.toContain('auto:');
    const auto = farmer(['train', '--preset', 'mnist-tiny', '--steps', '1', '--batch-size', '8', '--eval-images', '8', '--engine', 'ort', '--out', join(work, 'dp-auto')]);
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stderr).toMatch(/engine: onnxruntime, \d+ workers? × 1 thread \(auto: one single-threaded replica per core/);
  });

  it("trains on the config file's data, and a resumed run keeps its own data without --data", () => {
    const spec = `idx:${idxFolder('train-idx', 16, ['train', 't10k'])}`;
    writeFileSync(join(work, 'idx-run.json'), JSON.stringify({ model: 'mnist-tiny', data: spec, train: { batchSize: 4 } }));
    const run = join(work, 'idx-run');
    const first = farmer(['train', '--config', 'idx-run.json', '--steps', '2', '--eval-images', '8', '--workers', '1', '--out', run]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`on ${spec} (16 images)`);
    expect(JSON.parse(readFileSync(join(run, 'checkpoint', 'config.json'), 'utf8')).meta.data).toBe(spec);
    const re = farmer(['train', '--out', run, '--resume', '--steps', '3', '--eval-images', '8', '--workers', '1']);
    expect(re.code, re.stderr).toBe(0);
    expect(re.stderr).toMatch(/resuming .* at step 2 on idx:/);
    expect(re.stderr).toContain(`at step 2 on ${spec}`);
  });
});

describe('demo', () => {
  it('samples a class grid from the built-in model and reports test bits/dim', () => {
    const r = farmer(['demo', '--out', 'demo1', '--per-class', '2', '--eval-images', '30']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/test bits\/dim \d+\.\d+/);
    // The default runtime, onnxruntime: the built-in model (a stand-in without an export here) is exported on first use, with one notice.
    expect(r.stderr).toMatch(/exported .*mnist-small to ONNX in \d+\.\d s → .*mnist-small\/onnx \(first use on onnxruntime; reused while the checkpoint is unchanged\)\n/);
    expect(r.stdout).toMatch(/runtime onnxruntime/);
    expect(r.stdout).toMatch(/samples: .*samples\.png/);
    const grid = png(join(work, 'demo1', 'samples.png'));
    expect(grid.height).toBeGreaterThan(10 * 28);
  });

  it('--train also trains a fresh model, writes its checkpoint, loss.png and samples, and scores its agreement', () => {
    // The built-in's classifier beside the test's model: the demo scores the fresh model's samples with it.
    const models = join(work, 'demo-models');
    cpSync(join(modelsDir, 'mnist-small'), join(models, 'mnist-small'), { recursive: true });
    cpSync(builtinClassifierDir('classifier-mnist', { env: {} }), join(models, 'classifier-mnist'), { recursive: true });
    const r = farmer(['demo', '--train', '0.05', '--out', 'demo2', '--per-class', '1', '--eval-images', '20', '--workers', '2', '--json'], { env: { FARMER_MODELS_DIR: models } });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.trained.agreement).toMatchObject({ samples: 200, classifier: 'classifier-mnist' });
    expect(out.trained.agreement.agreement).toBeGreaterThanOrEqual(0);
    expect(out.trained.agreement.agreement).toBeLessThanOrEqual(1);
    expect(existsSync(join(out.files.checkpoint, 'model.safetensors'))).toBe(true);
    expect(png(out.files.loss).width).toBeGreaterThan(300);
    expect(png(out.files.compare).width).toBeGreaterThan(2 * 28);
  });
});

describe('bad input exits 2 with a clear message', () => {
  const cases: [string, string[], RegExp, Record<string, string>?][] = [
    ['missing checkpoint', ['sample', '--checkpoint', 'nope'], /checkpoint nope does not exist/],
    ['label out of range', ['sample', '--labels', '12'], /labels\[0\] must be an integer class in \[0, 9\]/],
    ['unknown preset', ['train', '--preset', 'mnist-huge', '--out', 'x'], /unknown preset 'mnist-huge'; choose one of/],
    ['negative count', ['sample', '--count', '-3'], /--count must be ≥ 1, got -3/],
    ['non-numeric count', ['sample', '--count', 'many'], /--count takes an integer, got 'many'/],
    ['unknown dataset', ['eval', 'bpd', '--data', 'imagenet'], /unknown dataset 'imagenet'/],
    ['unknown option', ['sample', '--colour', 'red'], /unknown option '--colour'/],
    // On a models folder nothing has opened yet: the default, auto, would have exported it.
    ['onnx runtime without an export', ['sample', '--runtime', 'onnx'], /has no ONNX export; write one with: farmer export onnx/, { FARMER_MODELS_DIR: 'fresh-models' }],
    ['--no-ema with the onnx runtime', ['sample', '--runtime', 'onnx', '--no-ema'], /--no-ema needs the tfjs runtime/],
    ['unknown training engine', ['train', '--engine', 'gpu', '--out', 'x'], /--engine must be one of auto, ort, tfjs, got 'gpu'/],
    ['preset named like an Object member', ['train', '--preset', 'toString', '--out', 'x'], /unknown preset 'toString'; choose one of/],
    ['--threads with the tfjs engine', ['train', '--preset', 'mnist-tiny', '--engine', 'tfjs', '--threads', '2', '--steps', '1', '--out', 'x-threads'], /--threads sets onnxruntime intra-op threads/],
    ['--workers that is neither a count nor auto', ['train', '--workers', 'many', '--out', 'x'], /--workers takes a positive integer or 'auto', got 'many'/],
    ['--workers 0', ['distill', '--workers', '0', '--out', 'x'], /--workers must be ≥ 1, got 0/],
  ];
  it.each(cases)('%s', (_, args, re, env) => {
    const r = farmer(args, { env: env && Object.fromEntries(Object.entries(env).map(([k, v]) => [k, join(work, v)])) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('train --out that cannot hold a run fails before the first step: an existing file, a path under a file', () => {
    const file = join(work, 'not-a-dir');
    writeFileSync(file, 'x');
    for (const [out, re] of [
      [file, /cannot write the run to .*not-a-dir: it is an existing file; choose another output directory/],
      [join(file, 'run'), /cannot write the run to .*not-a-dir\/run: a parent of it is a file/],
    ] as const) {
      const started = Date.now();
      // 100,000 steps would take hours: the refusal must come before any of them.
      const r = farmer(['train', '--preset', 'mnist-tiny', '--steps', '100000', '--workers', '1', '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(readFileSync(file, 'utf8')).toBe('x');
    }
  });

  it('a corrupted model.safetensors', () => {
    const dir = corruptCopy('corrupt');
    const r = farmer(['sample', '--checkpoint', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/model\.safetensors fails its SHA-256 check/);
  });

  it('sample --count over the per-run limit (100,000 unless --max-count raises it) is refused up front', () => {
    for (const [args, re] of [
      [['--count', '1000000000'], /1000000000 images is over the per-run limit of 100000; raise it with --max-count/],
      [['--count', '100001'], /over the per-run limit of 100000/],
      [['--labels', '1,2,3', '--max-count', '2'], /3 images is over the per-run limit of 2/],
      [['--per-class', '20000'], /200000 images is over the per-run limit of 100000/],
      [['--count', '1500000000', '--max-count', '2000000000'], /1500000000 images of 784 bytes do not fit in memory at once/],
    ] as const) {
      const started = Date.now();
      const r = farmer(['sample', ...args, '--out', 'limit.png']);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at |Invalid typed array length/);
      expect(Date.now() - started).toBeLessThan(60_000);
    }
    expect(existsSync(join(work, 'limit.png'))).toBe(false);
    const ok = farmer(['sample', '--count', '2', '--max-count', '2', '--out', 'limit.png', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).labels).toHaveLength(2);
  });

  it('sample --out that is a directory, or cannot be written, is refused before sampling', () => {
    const dir = join(work, 'an-existing-dir');
    mkdirSync(dir, { recursive: true });
    const file = join(work, 'a-plain-file');
    writeFileSync(file, 'x');
    const locked = join(work, 'locked');
    mkdirSync(locked, { recursive: true });
    const undo = makeReadOnly(locked);
    try {
      const cases: [string[], RegExp][] = [
        [['--out', dir], /--out .*an-existing-dir: .*an-existing-dir is a directory, where the grid goes; give a file name/],
        [['--out', join(file, 'x.png')], /cannot write --out .*a-plain-file\/x\.png \(into .*a-plain-file\): it is an existing file; choose another location/],
        [['--separate', join(file, 'each')], /cannot write --separate .*a-plain-file\/each: a parent of it is a file/],
      ];
      if (undo) cases.push([['--out', join(locked, 'x.png')], /cannot write --out .*locked\/x\.png \(into .*locked\): (permission denied|the file system is read-only|operation not permitted)/i]);
      for (const [args, re] of cases) {
        const r = farmer(['sample', '--count', '1', ...args]);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(re);
        expect(r.stderr).not.toMatch(/\n\s+at |EISDIR|EPERM/);
        // Refused before any model was opened.
        expect(r.stderr).not.toMatch(/runtime /);
      }
    } finally {
      undo?.();
    }
  });

  it('inspect --json of a checkpoint that fails its checksums prints the report and exits 2', () => {
    const dir = corruptCopy('corrupt-inspect');
    const r = farmer(['inspect', dir, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).checksums).toMatch(/^FAILED: .*model\.safetensors fails its SHA-256 check/);
    expect(r.stderr).toMatch(/model\.safetensors fails its SHA-256 check .*\[FARMER_E_CORRUPT\]/);
    expect(farmer(['inspect', join(modelsDir, 'mnist-small'), '--json']).code).toBe(0);
  });
});

describe('farmer serve', () => {
  it('serves the built-in model on onnxruntime with no flag, and warns when it binds beyond loopback without an API key', async () => {
    const r = await serveOnce(['--host', '0.0.0.0'], async (url) => {
      const gen = await fetch(`${url}/v1/models/mnist-small/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"labels": 7, "seed": 1}' });
      return (await gen.json()) as { runtime: string };
    });
    expect(r.value.runtime).toBe('onnxruntime');
    expect(r.stderr).toMatch(/farmer: warning: listening on 0\.0\.0\.0 beyond loopback without --api-key/);
    const quiet = await serveOnce(['--api-key', 'a-long-enough-key'], async () => 0);
    expect(quiet.stderr).not.toMatch(/warning/);
  });

  it('takes the server bin\'s flags and environment fallbacks (FARMER_RUNTIME, FARMER_HOST, ...)', async () => {
    const r = await serveOnce(['--batch-size', '4', '--shutdown-timeout', '2'], async (url) => (await (await fetch(`${url}/v1/models`)).json()) as { models: { runtime: string }[] }, { FARMER_RUNTIME: 'tfjs', FARMER_HOST: '127.0.0.1' });
    expect(r.value.models[0].runtime).toBe('tfjs');
    const help = farmer(['serve', '--help']);
    expect(help.stdout).toMatch(/^Usage: farmer serve \[options\]\n[\s\S]*--batch-size <n> .*\n[\s\S]*--shutdown-timeout <s>[\s\S]*env:\s+FARMER_RUNTIME/);
    expect(help.code).toBe(0);
    const bad = farmer(['serve', '--port', 'eighty']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/option '--port <n>' argument 'eighty' is invalid/);
  });

  it('a port in use is an error (exit 2) before any model loads', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      const r = farmer(['serve', '--port', String((blocker.address() as AddressInfo).port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/port \d+ on 127\.0\.0\.1 is in use; choose another with --port/);
      expect(r.stderr).not.toMatch(/model loaded|exported/);
      expect(Date.now() - started).toBeLessThan(60_000);
    } finally {
      blocker.close();
    }
  });
});

describe('a checkpoint stranded as checkpoint.old-* by a crash between the two renames of its write', () => {
  it('sample, eval, inspect and serve read it in place; train --resume (a writer) puts it back', async () => {
    const source = join(work, 'run1');
    expect(existsSync(join(source, 'checkpoint', 'config.json')), 'needs the run of the first test').toBe(true);
    const run = join(work, 'stranded');
    cpSync(source, run, { recursive: true });
    rmSync(join(run, 'checkpoint', 'onnx'), { recursive: true, force: true });
    const old = `checkpoint.old-${deadPid()}-0a1b2c3d`;
    renameSync(join(run, 'checkpoint'), join(run, old));
    const listing = () => readdirSync(run).sort();
    const before = listing();
    for (const args of [
      ['sample', '--checkpoint', run, '--labels', '1', '--runtime', 'tfjs', '--out', 'stranded.png'],
      ['eval', 'bpd', '--checkpoint', run, '--max-images', '8', '--runtime', 'tfjs'],
      ['inspect', run, '--json'],
    ]) {
      const r = farmer(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(/holds no checkpoint/);
      expect(listing(), args[0]).toEqual(before);
    }
    expect(JSON.parse(farmer(['inspect', run, '--json']).stdout).dir).toBe(join(run, old));
    const served = await serveOnce(['--models', run, '--runtime', 'tfjs'], async (url) => {
      const r = await fetch(`${url}/v1/models/stranded/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"labels": 3, "seed": 1}' });
      return r.status;
    });
    expect(served.value).toBe(200);
    expect(listing()).toEqual(before);
    const step = JSON.parse(readFileSync(join(run, old, 'config.json'), 'utf8')).training.step;
    const re = farmer(['train', '--out', run, '--resume', '--steps', String(step + 2), '--workers', '1']);
    expect(re.code, re.stderr).toBe(0);
    expect(re.stdout).toMatch(new RegExp(`done at step ${step + 2}`));
    expect(listing().filter((f) => f.startsWith('checkpoint'))).toEqual(['checkpoint']);
  });
});

describe('built-in models by name, and class names in sample grids', () => {
  it('--model picks a built-in; per-class grids label each row with the model’s class names', async () => {
    // A models folder with both built-ins: the tiny stand-in, and an untrained one named like Fashion-MNIST.
    const both = join(work, 'both-models');
    cpSync(join(modelsDir, 'mnist-small'), join(both, 'mnist-small'), { recursive: true });
    const fashion = FarmerModel.create({ ...preset('mnist-tiny'), classNames: FASHION_MNIST_CLASSES }, 0);
    await saveFarmer(join(both, 'fashion-small'), fashion);
    fashion.dispose();
    const env = { FARMER_MODELS_DIR: both };
    const grid = (model: string) => {
      const r = farmer(['sample', '--model', model, '--per-class', '2', '--runtime', 'tfjs', '--out', `${model}.png`], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(work, `${model}.json`), 'utf8')).checkpoint).toBe(join(both, model));
      return png(join(work, `${model}.png`));
    };
    const digits = grid('mnist-small');
    const clothes = grid('fashion-small');
    // Same images per row; the label column fits the longest name ('T-shirt/top', 11 characters, vs '0'..'9').
    expect(clothes.height).toBe(digits.height);
    expect(clothes.width).toBeGreaterThan(digits.width + 40);

    const unknown = farmer(['sample', '--model', 'cifar-huge', '--out', 'x.png'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown built-in model 'cifar-huge'; choose one of: mnist-small, fashion-small, emoji-small/);
    const twice = farmer(['eval', 'bpd', '--model', 'mnist-small', '--checkpoint', join(both, 'mnist-small')], { env });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/give --model \(a built-in model\) or --checkpoint \(a directory\), not both/);
    const names = farmer(['train', '--preset', 'mnist-tiny', '--class-names', 'a,b', '--steps', '1', '--out', 'names-run'], { env });
    expect(names.code).toBe(2);
    expect(names.stderr).toMatch(/2 class names given for a model of 10 classes/);
  });
});

describe('built-in models from their packages: --classifier NAME, FARMER_MODELS_DIR, a missing package', () => {
  it('--classifier takes a built-in classifier by name: from the installed package, or from FARMER_MODELS_DIR', () => {
    // No FARMER_MODELS_DIR: the installed packages (here the workspace's models/NAME).
    const installed = farmer(['eval', 'agreement', '--model', 'mnist-small', '--classifier', 'classifier-mnist', '--per-class', '1', '--json'], { env: { FARMER_MODELS_DIR: '' } });
    expect(installed.code, installed.stderr).toBe(0);
    const result = JSON.parse(installed.stdout);
    expect(result).toMatchObject({ samples: 10, classifier: 'classifier-mnist' });
    expect(result.checkpoint).toMatch(/models\/mnist-small\/checkpoint$/);
    // FARMER_MODELS_DIR holds the stand-in model and a classifier of that name: both are taken from there.
    const own = join(work, 'models-with-classifier');
    cpSync(join(modelsDir, 'mnist-small'), join(own, 'mnist-small'), { recursive: true });
    cpSync(builtinClassifierDir('classifier-mnist', { env: {} }), join(own, 'classifier-mnist'), { recursive: true });
    const fromDir = farmer(['eval', 'agreement', '--classifier', 'classifier-mnist', '--per-class', '1', '--runtime', 'tfjs'], { env: { FARMER_MODELS_DIR: own } });
    expect(fromDir.code, fromDir.stderr).toBe(0);
    expect(fromDir.stdout).toMatch(/^classifier agreement \d+\.\d% on 10 samples/);
    expect(fromDir.stderr).toContain(`using the built-in model ${join(own, 'mnist-small')}`);
  });

  it('a built-in that is not there is exit 2 naming the package to install; an unknown classifier name lists the built-ins', () => {
    const empty = join(work, 'no-models');
    mkdirSync(empty, { recursive: true });
    const noModel = farmer(['sample', '--out', 'x.png'], { env: { FARMER_MODELS_DIR: empty } });
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain(`the built-in model mnist-small was not found in FARMER_MODELS_DIR (${empty})`);
    expect(noModel.stderr).toContain('npm install @farmer/model-mnist-small');
    expect(noModel.stderr).not.toMatch(/\n\s+at /);
    const noClassifier = farmer(['eval', 'agreement', '--checkpoint', join(modelsDir, 'mnist-small'), '--classifier', 'classifier-fashion'], { env: { FARMER_MODELS_DIR: empty } });
    expect(noClassifier.code).toBe(2);
    expect(noClassifier.stderr).toContain('the built-in classifier classifier-fashion was not found in FARMER_MODELS_DIR');
    expect(noClassifier.stderr).toContain('npm install @farmer/model-fashion-small');
    const unknown = farmer(['eval', 'fid', '--classifier', 'classifier-cifar', '--count', '2']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/classifier 'classifier-cifar' is neither a folder nor a built-in classifier \(classifier-mnist, classifier-fashion, classifier-emoji\)/);
  });
});
