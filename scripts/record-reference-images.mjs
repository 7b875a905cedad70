#!/usr/bin/env node
// Records the reference images of issue 29: SHA-256 of the pixels that fixed generate requests
// give through every surface, written to packages/test-utils/fixtures/reference-images.json.
// Tests compare against that file (cli, server, sharded jobs, the page); it was recorded once,
// before the sampling-options refactor, and is NOT to be regenerated to make a test pass: a
// changed hash means changed images.
//
//   npm run build && node scripts/record-reference-images.mjs [--only cli,server,sharded,page]
//
// Run again, it checks: a hash that differs from the recorded one stops it (nothing written)
// unless --overwrite is given.
//
// Needs the built dists, redis-server (sharded) and Chromium (page).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePng } from '@farmer/core';
import { buildApp } from '@farmer/server';
import { imagesSha256, startRedisServer } from '@farmer/test-utils';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'apps/cli/dist/bin.js');
const OUT = join(ROOT, 'packages/test-utils/fixtures/reference-images.json');
const labels10 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/**
 * The requests. Each is spelled once per surface: `cli` (after `farmer sample --model M`),
 * `server` (the body of POST /v1/models/M/generate), `page` (the playground's URL query;
 * null: the page cannot say it), `sharded` (extra flags of `farmer sample --redis`; null: not run).
 */
const CASES = [
  {
    name: 'mnist-cfg-page-defaults',
    model: 'mnist-small',
    about: 'resampling CFG (auto) at the paper defaults, flow decoder: the page defaults',
    cli: ['--labels', '7,3,0', '--seed', '1'],
    server: { count: 3, labels: [7, 3, 0], seed: 1 },
    page: '',
    sharded: null,
    tfjs: true,
  },
  {
    name: 'mnist-cfg-student',
    model: 'mnist-small',
    about: 'resampling CFG, distilled student decoder',
    cli: ['--labels', '1,4', '--seed', '5', '--decoder', 'student'],
    server: { count: 2, labels: [1, 4], seed: 5, decoder: 'student' },
    page: 'labels=1,4&seed=5&decoder=student',
    sharded: null,
  },
  {
    name: 'mnist-naive-cfg',
    model: 'mnist-small',
    about: 'naive CFG baseline, w 1.5 (from cfg.w), temperature 1.2',
    cli: ['--labels', '2,8', '--seed', '9', '--sampler', 'naive-cfg', '--cfg-w', '1.5', '--naive-temperature', '1.2'],
    server: { count: 2, labels: [2, 8], seed: 9, sampler: 'naive-cfg', cfg: { w: 1.5 }, naive: { temperature: 1.2 } },
    page: 'labels=2,8&seed=9&sampler=naive-cfg&w=1.5&T=1.2',
    sharded: null,
  },
  {
    name: 'mnist-unconditional-decoupled',
    model: 'mnist-small',
    about: 'unconditional (null label), decoupled (auto)',
    cli: ['--unconditional', '--count', '4', '--seed', '2'],
    server: { count: 4, seed: 2 },
    page: 'labels=-1,-1,-1,-1&seed=2&sampler=decoupled',
    sharded: ['--batch-size', '2', '--shard-size', '2'],
  },
  {
    name: 'fashion-decoupled-labels',
    model: 'fashion-small',
    about: 'decoupled with labels, informative T 1.1 s 0.8, redundant T 1 (s as informative)',
    cli: ['--labels', '0,5,9', '--seed', '3', '--sampler', 'decoupled', '--temperature', '1.1', '--scale', '0.8', '--redundant-temperature', '1'],
    server: { count: 3, labels: [0, 5, 9], seed: 3, sampler: 'decoupled', informative: { temperature: 1.1, scale: 0.8 }, redundant: { temperature: 1 } },
    page: 'model=builtin:fashion-small&labels=0,5,9&seed=3&sampler=decoupled&T=1.1&s=0.8&Tr=1',
    sharded: null,
  },
  {
    name: 'fashion-cfg-options-student',
    model: 'fashion-small',
    about: 'resampling CFG with every kind of option set, linear schedule, student decoder',
    cli: [
      '--labels', '1,3', '--seed', '4', '--cfg-w', '1.5', '--cfg-sc', '3', '--cfg-su', '2', '--cfg-pool-c', '16', '--cfg-pool-u', '8',
      '--cfg-schedule', 'linear', '--cfg-proposal-pi', '0.9', '--cfg-eval-sigma', '0.8', '--cfg-sharpen', '1.3', '--decoder', 'student',
    ],
    server: { count: 2, labels: [1, 3], seed: 4, cfg: { w: 1.5, sc: 3, su: 2, poolC: 16, poolU: 8, schedule: 'linear', proposal: { pi: 0.9 }, evaluation: { sigma: 0.8 }, sharpen: 1.3 }, decoder: 'student' },
    page: null,
    sharded: ['--batch-size', '1', '--shard-size', '1'],
  },
  {
    name: 'mnist-cfg-multi-batch',
    model: 'mnist-small',
    about: 'ten images in batches of 4 (CLI, page; the server test runs with --batch-size 4), resampling CFG',
    cli: ['--labels', labels10.join(','), '--seed', '11', '--batch-size', '4'],
    server: { count: 10, labels: labels10, seed: 11 },
    page: `labels=${labels10.join(',')}&seed=11&batch=4`,
    sharded: ['--shard-size', '4'],
  },
  {
    name: 'mnist-one-label-for-all',
    model: 'mnist-small',
    about: 'one label for every image, guidance w 1',
    cli: ['--labels', '5', '--count', '3', '--seed', '6', '--cfg-w', '1'],
    server: { count: 3, labels: 5, seed: 6, cfg: { w: 1 } },
    page: null,
    sharded: null,
  },
];

const grey = (png) => {
  const im = decodePng(new Uint8Array(png), 1);
  return im.data;
};

/** The PNGs of a `--separate` folder, in order, and their labels. */
function readSeparate(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
  return { images: files.map((f) => grey(readFileSync(join(dir, f)))), labels: files.map((f) => Number(/label(-?\d+)\.png$/.exec(f)[1])) };
}

function cli(c, extra = [], globals = []) {
  const dir = mkdtempSync(join(tmpdir(), 'farmer-reference-'));
  try {
    execFileSync(process.execPath, [BIN, ...globals, 'sample', '--model', c.model, ...c.cli, ...extra, '--separate', join(dir, 'images'), '--out', join(dir, 'grid.png'), '--quiet'], { stdio: 'pipe' });
    return readSeparate(join(dir, 'images'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function recordCli(record) {
  for (const c of CASES) {
    const onnx = cli(c, ['--runtime', 'onnx']);
    record(c, 'cli-onnx', onnx);
    if (c.tfjs) record(c, 'cli-tfjs', cli(c, ['--runtime', 'tfjs'], ['--backend', 'wasm']));
  }
}

async function recordServer(record) {
  const app = await buildApp({ runtime: 'onnx', batchSize: 4, processMetrics: false });
  try {
    await app.farmer.registry.load();
    for (const c of CASES) {
      const r = await app.inject({ method: 'POST', url: `/v1/models/${c.model}/generate`, payload: c.server });
      if (r.statusCode !== 200) throw new Error(`server ${c.name}: ${r.statusCode} ${r.body}`);
      const j = r.json();
      record(c, 'server', { images: j.images.map((x) => grey(Buffer.from(x.png, 'base64'))), labels: j.images.map((x) => x.label) });
    }
  } finally {
    await app.close();
  }
}

async function recordSharded(record) {
  const redis = await startRedisServer();
  const worker = spawn(process.execPath, [BIN, 'worker', '--redis', redis.url, '--runtime', 'onnx', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    let log = '';
    worker.stderr.on('data', (d) => (log += d));
    await new Promise((resolve, reject) => {
      const iv = setInterval(() => {
        if (/worker \S+ ready/.test(log)) {
          clearInterval(iv);
          resolve();
        } else if (worker.exitCode !== null) {
          clearInterval(iv);
          reject(new Error(`farmer worker exited: ${log}`));
        }
      }, 50);
    });
    for (const c of CASES.filter((x) => x.sharded)) record(c, 'sharded', cli(c, ['--runtime', 'onnx', '--redis', redis.url, ...c.sharded]));
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await redis.stop();
  }
}

async function recordPage(record) {
  const { launchChromium } = await import('../apps/playground/scripts/chromium.mjs');
  const { serveStatic } = await import('../apps/playground/scripts/static-server.mjs');
  const { builtinExportMounts } = await import('../apps/playground/scripts/builtin-exports.mjs');
  const server = await serveStatic({ root: join(ROOT, 'apps/playground/dist'), isolation: true, mounts: builtinExportMounts() });
  const chromium = await launchChromium();
  try {
    for (const c of CASES.filter((x) => x.page !== null)) {
      const page = await chromium.context.newPage();
      await page.goto(`${server.url}?${c.page}`);
      await page.waitForFunction(() => !document.getElementById('generate').disabled || !document.getElementById('error').hidden, undefined, { timeout: 120_000 });
      await page.click('#generate');
      await page.waitForFunction(() => window.farmerPlayground.state.last !== undefined || !document.getElementById('error').hidden, undefined, { timeout: 300_000 });
      const r = await page.evaluate(() => {
        const error = document.getElementById('error');
        if (!error.hidden) return { error: error.textContent };
        const canvases = [...document.querySelectorAll('#results canvas.sample')];
        return {
          provider: document.getElementById('model-status').dataset.provider,
          images: canvases.map((cv) => {
            const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
            return Array.from({ length: cv.width * cv.height }, (_, i) => d[4 * i]);
          }),
          labels: canvases.map((cv) => Number(cv.dataset.label)),
        };
      });
      if (r.error) throw new Error(`page ${c.name}: ${r.error}`);
      if (r.provider !== 'wasm') throw new Error(`page ${c.name} ran on ${r.provider}; the references are wasm's`);
      record(c, 'page-wasm', { images: r.images.map((a) => Uint8Array.from(a)), labels: r.labels });
      await page.close();
    }
  } finally {
    await chromium.close();
    await server.close();
  }
}

const SURFACES = { cli: recordCli, server: recordServer, sharded: recordSharded, page: recordPage };

async function main() {
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1].split(',') : Object.keys(SURFACES);
  let previous = null;
  try {
    previous = JSON.parse(readFileSync(OUT, 'utf8'));
  } catch {
    // first recording
  }
  const before = (c) => previous?.cases.find((p) => p.name === c.name);
  const cases = CASES.map((c) => ({ ...c, labels: before(c)?.labels ?? null, sha256: { ...(before(c)?.sha256 ?? {}) } }));
  const mismatches = [];
  const record = (c, surface, got) => {
    const entry = cases.find((x) => x.name === c.name);
    const was = entry.sha256[surface];
    if (was && was !== imagesSha256(got.images)) mismatches.push(`${c.name} ${surface}: recorded ${was}, drawn now ${imagesSha256(got.images)}`);
    if (entry.labels && JSON.stringify(entry.labels) !== JSON.stringify(got.labels)) throw new Error(`${c.name} ${surface}: labels ${got.labels} differ from ${entry.labels}`);
    entry.labels = got.labels;
    entry.sha256[surface] = imagesSha256(got.images);
    console.log(`${c.name.padEnd(32)} ${surface.padEnd(10)} ${entry.sha256[surface]}`);
  };
  for (const s of only) await SURFACES[s](record);
  // A recorded hash is never replaced silently: the references are what the images were.
  if (mismatches.length && !process.argv.includes('--overwrite')) {
    console.error(`the images differ from the references (nothing written; --overwrite replaces them):\n  ${mismatches.join('\n  ')}`);
    process.exit(1);
  }
  const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const out = {
    about:
      'Reference images of issue 29: sha256 = SHA-256 of the u8 grey pixels (HW) of the images, concatenated in order, per surface. Recorded by scripts/record-reference-images.mjs before the sampling-options refactor; never regenerate them to make a test pass.',
    recordedAt: previous?.recordedAt ?? commit,
    cases: cases.map(({ tfjs, ...c }) => ({ ...c, ...(tfjs ? { tfjs } : {}) })),
  };
  writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${OUT}`);
}

await main();
