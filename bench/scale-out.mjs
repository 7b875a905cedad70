// @farmer/queue benchmark: images/s of a 2,000-image sharded `farmer sample --redis` job on
// 1 and 2 `farmer worker` processes, side by side in one run, each worker with cores ÷ workers
// onnxruntime intra-op threads; one process without Redis as the reference. A redis-server of
// its own on a free loopback port. Model: the built-in mnist-small, unconditional (decoupled).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedisServer } from '@farmer/test-utils';
import { fmt, table } from './util.mjs';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'apps', 'cli', 'dist', 'bin.js');
const COUNT = Number(process.env.FARMER_BENCH_SCALE_COUNT ?? 2000);
const JOB = ['--unconditional', '--count', String(COUNT), '--max-count', String(COUNT), '--seed', '1', '--runtime', 'onnx'];

function run(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, FARMER_BACKEND: 'wasm', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`farmer ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`))));
  });
}

async function startWorkers(n, url, threads) {
  return Promise.all(
    Array.from({ length: n }, () => {
      const child = spawn(process.execPath, [BIN, 'worker', '--redis', url, '--runtime', 'onnx', '--threads', String(threads)], { env: { ...process.env, FARMER_BACKEND: 'wasm' } });
      let log = '';
      child.stderr.on('data', (d) => (log += d));
      return new Promise((resolve, reject) => {
        const iv = setInterval(() => {
          if (/worker \S+ ready/.test(log)) resolve((clearInterval(iv), child));
          else if (child.exitCode !== null) reject((clearInterval(iv), new Error(`worker exited: ${log}`)));
        }, 50);
      });
    }),
  );
}

export async function benchScaleOut() {
  const cores = availableParallelism();
  console.log(`\n## scale-out: a ${COUNT}-image sharded sample job on farmer workers (mnist-small, onnxruntime, ${cores} cores)\n`);
  const redis = await startRedisServer();
  const work = mkdtempSync(join(tmpdir(), 'farmer-bench-scale-'));
  const rows = [];
  try {
    // One process, all cores, no Redis: its sidecar's timings are the generation alone.
    await run(['sample', ...JOB, '--out', join(work, 'alone.png'), '--separate', join(work, 'alone')]);
    const aloneS = JSON.parse(readFileSync(join(work, 'alone.json'), 'utf8')).timings.totalSeconds;
    rows.push({ setting: '1 process, no Redis', workers: 0, 'threads each': cores, seconds: fmt(aloneS, 1), 'images/s': fmt(COUNT / aloneS, 1), 'vs 1 worker': '' });
    let base;
    for (const n of [1, 2]) {
      const threads = Math.max(1, Math.floor(cores / n));
      const workers = await startWorkers(n, redis.url, threads);
      try {
        const out = await run(['sample', '--redis', redis.url, ...JOB, '--out', join(work, `w${n}.png`), '--separate', join(work, `w${n}`)]);
        const seconds = Number(/ in ([\d.]+) s\n/.exec(out)?.[1]);
        base ??= seconds;
        rows.push({ setting: `sharded, ${n} worker(s)`, workers: n, 'threads each': threads, seconds: fmt(seconds, 1), 'images/s': fmt(COUNT / seconds, 1), 'vs 1 worker': `${fmt(base / seconds, 2)}×` });
      } finally {
        for (const w of workers) w.kill('SIGTERM');
      }
    }
  } finally {
    await redis.stop();
    rmSync(work, { recursive: true, force: true });
  }
  table(rows);
  console.log(`load average during the run: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (other processes share these cores)`);
  console.log('\nShards of 64 images (the default, 4 batches of 16). Sharded times are the submitter\'s, from its first shard queued to its last PNG written (fsynced);');
  console.log('the one-process time is its generation alone (its sidecar\'s timings), without writing its files.');
}

if (import.meta.url === `file://${process.argv[1]}`) await benchScaleOut();
