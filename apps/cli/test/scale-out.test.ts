import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedisServer, type TestRedis } from '@farmer/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// farmer worker / farmer sample --redis against a real redis-server on loopback (started here; .ci/run installs it).
// The built-in mnist-small on onnxruntime: 200 images take a few seconds.
const BIN = join(__dirname, '..', 'dist', 'bin.js');
const JOB = ['--per-class', '20', '--seed', '5', '--runtime', 'onnx'];

let work: string;
let redis: TestRedis;
const children = new Set<ChildProcess>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs `farmer ARGS` to its end; `onStderr` sees its stderr as it comes. */
function farmer(args: string[], onStderr?: (text: string) => void): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: { ...process.env, FARMER_BACKEND: 'wasm' } });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => {
    stderr += d;
    onStderr?.(stderr);
  });
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    }),
  );
}

/** Starts `farmer worker` (one onnxruntime thread, a 3 s lock so a killed worker's shard comes back fast); resolves once it takes jobs. */
async function startWorker(): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(process.execPath, [BIN, 'worker', '--redis', redis.url, '--runtime', 'onnx', '--threads', '1', '--lock-seconds', '3'], { cwd: work, env: { ...process.env, FARMER_BACKEND: 'wasm' } });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  await new Promise<void>((resolve, reject) => {
    const iv = setInterval(() => {
      if (/worker \S+ ready/.test(log)) {
        clearInterval(iv);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(iv);
        reject(new Error(`farmer worker exited ${child.exitCode}: ${log}`));
      }
    }, 50);
  });
  return { child, log: () => log };
}

async function stopWorker(w: { child: ChildProcess }): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  const exited = new Promise((r) => w.child.once('exit', r));
  w.child.kill('SIGTERM');
  await exited;
}

const pngs = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.png')).sort();

/** The files of `dir` that differ from (or are missing beside) those of `reference`. */
function differing(dir: string, reference: string): string[] {
  return pngs(reference).filter((f) => {
    try {
      return !readFileSync(join(dir, f)).equals(readFileSync(join(reference, f)));
    } catch {
      return true;
    }
  });
}

describe('farmer worker + farmer sample --redis', () => {
  let reference: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'farmer-scale-out-'));
    redis = await startRedisServer();
    reference = join(work, 'one-process');
    const r = await farmer(['sample', ...JOB, '--out', 'one.png', '--separate', reference]);
    expect(r.code, r.stderr).toBe(0);
    expect(pngs(reference)).toHaveLength(200);
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('2 workers × a 200-image job in shards: the same files, byte for byte, as one process; a resubmission skips every shard', async () => {
    const workers = await Promise.all([startWorker(), startWorker()]);
    try {
      const out = join(work, 'sharded');
      const r = await farmer(['sample', '--redis', redis.url, ...JOB, '--shard-size', '32', '--out', 'sharded.png', '--separate', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/wrote 200 samples .* in 7 shards \(0 from an earlier submission\) on 2 worker\(s\)/);
      expect(pngs(out)).toEqual(pngs(reference));
      expect(differing(out, reference)).toEqual([]);
      // Progress across the workers, on stderr.
      expect(r.stderr).toMatch(/7\/7 shards, 2 worker\(s\)/);

      const again = await farmer(['sample', '--redis', redis.url, ...JOB, '--shard-size', '32', '--out', 'sharded.png', '--separate', out]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/in 7 shards \(7 from an earlier submission\)/);

      // farmer eval fid --redis: the generated half drawn by the workers, the same FID as one process.
      const fid = ['eval', 'fid', '--count', '64', '--real-count', '200', '--runtime', 'onnx', '--classifier', 'classifier-mnist'];
      const [alone, sharded] = await Promise.all([farmer(fid), farmer([...fid, '--redis', redis.url, '--shard-size', '16'])]);
      expect(alone.code, alone.stderr).toBe(0);
      expect(sharded.code, sharded.stderr).toBe(0);
      expect(alone.stdout).toMatch(/^FID \d+\.\d+$/m);
      expect(sharded.stdout).toBe(alone.stdout);
    } finally {
      await Promise.all(workers.map(stopWorker));
    }
  });

  it('a worker killed with SIGKILL mid-job: its shard is retried on the other, and the job ends with 200 distinct, correct files', async () => {
    const [victim, survivor] = await Promise.all([startWorker(), startWorker()]);
    try {
      const out = join(work, 'killed');
      let killed = false;
      const r = await farmer(['sample', '--redis', redis.url, ...JOB, '--shard-size', '16', '--out', 'killed.png', '--separate', out], (stderr) => {
        // Once the first shard is written both workers hold one: kill one mid-shard.
        if (!killed && /\b[1-9]\d*\/13 shards/.test(stderr)) {
          killed = true;
          victim.child.kill('SIGKILL');
        }
      });
      expect(killed).toBe(true);
      expect(r.code, r.stderr).toBe(0);
      // BullMQ's stalled-job recovery put the dead worker's shard back.
      expect(r.stderr).toMatch(/its worker stopped renewing its lock/);
      expect(pngs(out)).toEqual(pngs(reference));
      expect(new Set(pngs(out)).size).toBe(200);
      expect(differing(out, reference)).toEqual([]);
      expect(survivor.log()).not.toMatch(/failed/);
    } finally {
      await Promise.all([victim, survivor].map(stopWorker));
    }
  });

  it('Redis unreachable: exit 2 within the stated 5 s probe (plus start-up), naming the URL without its password', async () => {
    const url = `redis://:s3cret-pass@127.0.0.1:${await freePort()}`;
    for (const args of [['sample', '--redis', url, '--count', '4', '--separate', 'x'], ['worker', '--redis', url]]) {
      const r = await farmer(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`cannot use Redis at redis://:***@127.0.0.1:`);
      expect(r.stderr).toContain('waited at most 5 s');
      expect(r.stderr + r.stdout).not.toContain('s3cret-pass');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.seconds).toBeLessThan(60);
    }
  });
});
