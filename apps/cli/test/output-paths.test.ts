import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng, initBackend } from '@farmer/core';
import { FarmerModel, preset, saveFarmer } from '@farmer/ar-gmm';
import { beforeAll, describe, expect, it } from 'vitest';

/*
 * Where commands write (issue 27): an --out that holds something else is
 * never deleted without --force, paths under /proc are refused instead of
 * hanging, an empty path is refused, an empty test split is refused.
 */

const BIN = join(__dirname, '..', 'dist', 'bin.js');
const TARFLOW = join(__dirname, '..', '..', '..', 'packages', 'flow', 'test', 'fixtures', 'tarflow');
const hasProc = existsSync('/proc/self');
let work: string;
let ck: string;

/**
 * Runs the CLI, killed after `timeoutMs`: a command that used to spin
 * forever then fails its test by a null exit code instead of hanging the
 * suite (SIGKILL, since a process stuck in a synchronous mkdir never runs
 * a SIGTERM handler).
 */
function farmer(args: string[], timeoutMs = 120_000) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: work, env: { ...process.env, FARMER_BACKEND: 'wasm' }, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, timedOut: r.error !== undefined || r.signal !== null };
}

/** A folder of someone's files that no command may delete. */
function someonesFolder(name: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'notes'), { recursive: true });
  writeFileSync(join(dir, 'thesis.tex'), 'years of work');
  return dir;
}

const intact = (dir: string) => expect(readFileSync(join(dir, 'thesis.tex'), 'utf8')).toBe('years of work');

function expectUsageError(r: ReturnType<typeof farmer>, re: RegExp): void {
  expect(r.timedOut, `timed out: ${r.stderr}`).toBe(false);
  expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(re)]);
  expect(r.stderr).not.toMatch(/\n\s+at |looks like a bug/);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'farmer-out-'));
  await initBackend({ backend: 'wasm' });
  const model = FarmerModel.create(preset('mnist-tiny'), 1);
  ck = join(work, 'ck');
  await saveFarmer(ck, model);
  model.dispose();
});

describe('an --out that holds something else is refused (exit 2, nothing deleted); --force replaces it', () => {
  it('export weights: a folder of other files, a file, a checkpoint of another kind', () => {
    const dir = someonesFolder('weights-out');
    expectUsageError(farmer(['export', 'weights', '--checkpoint', ck, '--out', dir]), /weights-out is a folder holding 2 entries \(notes\/, thesis\.tex\), not a 'farmer' checkpoint; writing there would delete it\. Choose another folder, or pass --force to replace it \[FARMER_E_OUTPUT_EXISTS\]/);
    intact(dir);
    const file = join(work, 'weights-file');
    writeFileSync(file, 'mine');
    expectUsageError(farmer(['export', 'weights', '--checkpoint', ck, '--out', file]), /weights-file is a file, not a 'farmer' checkpoint/);
    expect(readFileSync(file, 'utf8')).toBe('mine');

    const forced = farmer(['export', 'weights', '--checkpoint', ck, '--out', dir, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'manifest.json', 'model.safetensors']);
    // A checkpoint of the same kind is replaced without --force (what a re-export does).
    const again = farmer(['export', 'weights', '--checkpoint', ck, '--out', dir]);
    expect(again.code, again.stderr).toBe(0);
  });

  it('export onnx', () => {
    const dir = someonesFolder('onnx-out');
    expectUsageError(farmer(['export', 'onnx', '--checkpoint', ck, '--out', dir]), /onnx-out is a folder holding 2 entries \(notes\/, thesis\.tex\), not an ONNX export; .*pass --force/);
    intact(dir);
    // A checkpoint, the likeliest mistake, is named as one.
    expectUsageError(farmer(['export', 'onnx', '--checkpoint', ck, '--out', ck]), /ck is a 'farmer' checkpoint, not an ONNX export/);
    const forced = farmer(['export', 'onnx', '--checkpoint', ck, '--out', dir, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readdirSync(dir)).toContain('manifest.json');
  });

  it('import tarflow', () => {
    const dir = someonesFolder('import-out');
    const args = ['import', 'tarflow', '--weights', join(TARFLOW, 'cond.weights.safetensors'), '--config', join(TARFLOW, 'cond.config.json'), '--out', dir];
    expectUsageError(farmer(args), /import-out is a folder holding 2 entries .*, not a 'flow' checkpoint; .*pass --force/);
    intact(dir);
    const forced = farmer([...args, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).kind).toBe('flow');
  });

  it('eval train-classifier refuses before it trains', () => {
    const dir = someonesFolder('classifier-out');
    const started = Date.now();
    // 1000 epochs would take hours: the refusal comes first.
    expectUsageError(farmer(['eval', 'train-classifier', '--epochs', '1000', '--out', dir]), /classifier-out is a folder holding 2 entries .*, not a 'classifier' checkpoint; .*pass --force/);
    expect(Date.now() - started).toBeLessThan(60_000);
    intact(dir);
    // A FARMER checkpoint is not a classifier's to replace either.
    expectUsageError(farmer(['eval', 'train-classifier', '--epochs', '1000', '--out', ck]), /ck is a 'farmer' checkpoint, not a 'classifier' checkpoint/);
  });

  it("train refuses a run whose checkpoint/ holds anything else, and a finished run; --force starts over", () => {
    const run = join(work, 'run-over');
    someonesFolder(join('run-over', 'checkpoint'));
    const args = ['train', '--preset', 'mnist-tiny', '--steps', '2', '--batch-size', '4', '--workers', '1', '--eval-images', '4', '--out', run];
    expectUsageError(farmer(args), /run-over\/checkpoint is a folder holding 2 entries .*, not a checkpoint; .*pass --force/);
    intact(join(run, 'checkpoint'));
    const forced = farmer([...args, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expectUsageError(farmer(args), /run-over already holds a run; resume it, choose another output directory, or start over with --force/);
    expectUsageError(farmer([...args, '--force', '--resume']), /give --resume .* or --force .*, not both/);
  });
});

describe.runIf(hasProc)('output paths under /proc (and /sys) exit 2 at once instead of spinning forever or exiting 1', () => {
  const cases: [string, string[], RegExp][] = [
    ['train --out /proc/newrun', ['train', '--preset', 'mnist-tiny', '--steps', '100000', '--out', '/proc/farmer-newrun'], /cannot write the run to \/proc\/farmer-newrun: its nearest existing parent \/proc cannot be written \(it takes no new files\)/],
    ['sample --out /proc/newdir/x.png', ['sample', '--count', '1', '--out', '/proc/farmer-newdir/x.png'], /cannot write --out \/proc\/farmer-newdir\/x\.png .*\/proc cannot be written/],
    ['sample --separate /proc/newdir', ['sample', '--count', '1', '--out', 'p.png', '--separate', '/proc/farmer-newdir'], /cannot write --separate \/proc\/farmer-newdir: .*\/proc cannot be written/],
    ['demo --out /proc/newdir', ['demo', '--out', '/proc/farmer-newdir'], /cannot write into --out \/proc\/farmer-newdir: .*\/proc cannot be written/],
    ['export weights --out /proc/x', ['export', 'weights', '--checkpoint', 'ck', '--out', '/proc/farmer-x'], /cannot write a 'farmer' checkpoint to \/proc\/farmer-x \(into \/proc\): it takes no new files/],
    ['export onnx --out /proc/x', ['export', 'onnx', '--checkpoint', 'ck', '--out', '/proc/farmer-x'], /cannot write an ONNX export to \/proc\/farmer-x \(into \/proc\): it takes no new files/],
    ['export weights --out /proc/newdir/x', ['export', 'weights', '--checkpoint', 'ck', '--out', '/proc/farmer-newdir/x'], /cannot write a 'farmer' checkpoint to \/proc\/farmer-newdir\/x .*\/proc cannot be written/],
  ];
  if (existsSync('/sys/kernel')) cases.push(['export onnx --out /sys/x', ['export', 'onnx', '--checkpoint', 'ck', '--out', '/sys/farmer-x'], /cannot write an ONNX export to \/sys\/farmer-x \(into \/sys\): (permission denied|the file system is read-only)/]);
  it.each(cases)('%s', (_, args, re) => {
    expectUsageError(farmer(args, 20_000), re);
  });
});

describe('an empty path is refused, never taken as the current directory', () => {
  const cases: [string[], RegExp][] = [
    [['train', '--preset', 'mnist-tiny', '--steps', '1', '--out', ''], /--out takes a path, got an empty string/],
    [['sample', '--count', '1', '--out', ''], /--out takes a path, got an empty string/],
    [['sample', '--count', '1', '--separate', ''], /--separate takes a path, got an empty string/],
    [['sample', '--checkpoint', '', '--count', '1'], /--checkpoint takes a path, got an empty string/],
    [['export', 'weights', '--checkpoint', 'ck', '--out', ''], /--out takes a path, got an empty string/],
    [['export', 'onnx', '--checkpoint', 'ck', '--out', '  '], /--out takes a path, got only spaces/],
    [['demo', '--out', ''], /--out takes a path, got an empty string/],
  ];
  it.each(cases.map(([args, re]) => [args.join(' '), args, re] as const))('%s', (_, args, re) => {
    const before = readdirSync(work).sort();
    expectUsageError(farmer([...args]), re);
    expect(readdirSync(work).sort()).toEqual(before);
  });
});

describe('train on a folder whose test split is empty', () => {
  it('is refused before training, naming the data and the fix', () => {
    const data = join(work, 'nine-each');
    for (const cls of ['a', 'b']) {
      mkdirSync(join(data, cls), { recursive: true });
      for (let i = 0; i < 9; i++) writeFileSync(join(data, cls, `${i}.png`), encodePng({ data: new Uint8Array(28 * 28).fill(i * 25), count: 1, height: 28, width: 28, channels: 1 }));
    }
    // A run that would start: small batches fit the 18 training images (it used to train, then print "test bits/dim NaN ± NaN (0 images)").
    const r = farmer(['train', '--data', `folder:${data}`, '--preset', 'mnist-tiny', '--image-size', '28', '--channels', '1', '--steps', '2', '--batch-size', '4', '--workers', '1', '--out', join(work, 'nine-run')]);
    expectUsageError(r, /folder:.*nine-each has no test images: .*no class here has 10 \(the largest has 9\); add images until a class has at least 10, or split them yourself into .*nine-each\/train and .*nine-each\/test/);
    expect(r.stderr).not.toMatch(/training .* parameters|NaN/);
    expect(existsSync(join(work, 'nine-run'))).toBe(false);
  });
});
