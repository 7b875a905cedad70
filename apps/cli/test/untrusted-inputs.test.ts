import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmerModel, preset, saveFarmer } from '@farmer/ar-gmm';
import { encodePng } from '@farmer/core';
import { builtinModelDir } from '@farmer/models';
import { craftedPng } from '@farmer/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Files, paths and names a user hands to `farmer`: each is refused with exit 2 and a message naming it.

const BIN = join(__dirname, '..', 'dist', 'bin.js');
/** The installed built-in model's checkpoint (the package's, whatever FARMER_MODELS_DIR says). */
const BUILTIN = builtinModelDir('mnist-small', { env: {} });
const TIME = '/usr/bin/time';
let work: string;
let modelsDir: string;

/** `farmer ARGS` in the work folder (the models folder holds an untrained 28×28 stand-in; nothing here gets as far as running it). */
function farmer(args: string[], opts: { timeoutMs?: number } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: work,
    env: { ...process.env, FARMER_MODELS_DIR: modelsDir, FARMER_BACKEND: 'wasm' },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `farmer ARGS` under GNU time when it is installed: also its peak resident memory (KiB), else undefined. */
function farmerMeasured(args: string[]) {
  if (!existsSync(TIME)) return { ...farmer(args), maxRssKiB: undefined };
  const r = spawnSync(TIME, ['-f', 'max-rss-kib %M', process.execPath, BIN, ...args], {
    cwd: work,
    env: { ...process.env, FARMER_MODELS_DIR: modelsDir, FARMER_BACKEND: 'wasm' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  const m = /max-rss-kib (\d+)\s*$/.exec(r.stderr);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.replace(/.*max-rss-kib \d+\s*$/, ''), maxRssKiB: m ? Number(m[1]) : undefined };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'farmer-cli-inputs-'));
  modelsDir = join(work, 'models');
  const model = FarmerModel.create(preset('mnist-tiny'), 3);
  await saveFarmer(join(modelsDir, 'mnist-small'), model);
  model.dispose();
  writeFileSync(join(work, 'digit.png'), encodePng({ data: new Uint8Array(28 * 28).fill(40), count: 1, height: 28, width: 28, channels: 1 }));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('untrusted inputs: image paths, huge PNGs, truncated checkpoints, tensor names', () => {
  it('classify (and encode) of a directory exits 2 saying it is one, without EISDIR', () => {
    const dir = join(work, 'a-folder-of-pngs');
    mkdirSync(dir, { recursive: true });
    for (const args of [['classify', dir], ['encode', 'digit.png', dir, '--checkpoint', join(modelsDir, 'mnist-small'), '--out', 'x.safetensors']]) {
      const r = farmer(args);
      expect([r.code, r.stderr], args[0]).toEqual([2, expect.stringMatching(/image .*a-folder-of-pngs is a directory, not a PNG file; give PNG files \(a folder of class sub-folders is a dataset: folder:.*a-folder-of-pngs\)/)]);
      expect(r.stderr).not.toMatch(/EISDIR|\n\s+at /);
    }
  });

  it('classify and encode refuse a PNG whose header says 20000×20000 from the header, before decoding it, in bounded memory', async () => {
    // A real 20000×20000 image (a 380 KB decompression bomb), and a header over a body that is not even zlib.
    writeFileSync(join(work, 'bomb.png'), await craftedPng(20000, 20000, 'zeros'));
    writeFileSync(join(work, 'huge-garbage.png'), await craftedPng(20000, 20000, 'garbage'));
    const cases = [
      ['classify', 'digit.png', 'bomb.png', '--runtime', 'tfjs'],
      ['classify', 'huge-garbage.png', '--runtime', 'tfjs'],
      ['encode', 'bomb.png', '--checkpoint', join(modelsDir, 'mnist-small'), '--out', 'bomb.safetensors'],
    ];
    for (const args of cases) {
      const started = Date.now();
      const r = farmerMeasured(args);
      const file = args[1] === 'digit.png' ? args[2] : args[1];
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${file.replace('.', '\\.')} must be 28×28 pixels \\(this model's size\\), got 20000×20000`));
      expect(r.stderr).not.toMatch(/could not be decoded|\n\s+at /);
      expect(Date.now() - started).toBeLessThan(60_000);
      // Decoding it would take ~2.9 GB (pngjs inflates 400 MB and expands it to RGBA).
      if (r.maxRssKiB !== undefined) expect(r.maxRssKiB, args.join(' ')).toBeLessThan(1_200_000);
    }
    expect(existsSync(join(work, 'bomb.safetensors'))).toBe(false);
  });

  it('a copy of the built-in model whose model.safetensors is truncated but whose onnx/ export is intact: sample, eval bpd, classify exit 2 naming the file; serve does not load it', () => {
    expect(existsSync(join(BUILTIN, 'onnx', 'manifest.json')), 'the built-in model ships its export').toBe(true);
    const models = join(work, 'truncated-models');
    const dir = join(models, 'mnist-small');
    cpSync(BUILTIN, dir, { recursive: true });
    truncateSync(join(dir, 'model.safetensors'), 1_000_000);
    const named = /mnist-small\/model\.safetensors is 1000000 bytes, the manifest says 3220040 \(truncated or replaced\); restore it from a good copy of the checkpoint \[FARMER_E_CORRUPT\]/;
    for (const args of [
      ['sample', '--checkpoint', dir, '--count', '2', '--out', 'truncated.png'],
      ['eval', 'bpd', '--checkpoint', dir, '--max-images', '8'],
      ['classify', 'digit.png', '--checkpoint', dir],
      ['sample', '--checkpoint', dir, '--count', '2', '--runtime', 'onnx', '--out', 'truncated.png'],
    ]) {
      const r = farmer(args);
      expect([r.code, r.stderr], args.join(' ')).toEqual([2, expect.stringMatching(named)]);
    }
    expect(existsSync(join(work, 'truncated.png'))).toBe(false);
    // The server names the file and, with no other model to serve, exits 2 (never serving it).
    // Bounded: before this fix it served the model (until killed).
    const served = farmer(['serve', '--port', '0', '--models', models], { timeoutMs: 120_000 });
    expect([served.code, served.stderr]).toEqual([2, expect.stringMatching(/no model could be loaded:\n  - mnist-small: .*model\.safetensors is 1000000 bytes, the manifest says 3220040/)]);
  });

  it('decode --tensor named like an Object member exits 2 listing the tensors the file has', () => {
    const enc = farmer(['encode', 'mnist', '--count', '1', '--checkpoint', join(modelsDir, 'mnist-small'), '--out', 'one.safetensors']);
    expect(enc.code, enc.stderr).toBe(0);
    for (const name of ['toString', 'constructor']) {
      const r = farmer(['decode', '--checkpoint', join(modelsDir, 'mnist-small'), '--latents', 'one.safetensors', '--tensor', name, '--out', 'dec.png']);
      expect([r.code, r.stderr], name).toEqual([2, expect.stringMatching(new RegExp(`one\\.safetensors has no tensor '${name}' \\(it has logdet\\.0, logdet\\.1, z\\)`))]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
