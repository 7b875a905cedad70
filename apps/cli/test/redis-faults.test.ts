import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinModelDir } from '@farmer/models';
import { startRedisServer, type TestRedis } from '@farmer/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Fault injection: redis-server killed (SIGKILL) in the middle of a sharded job with two workers and
// a server on it, then brought back on its port (all started here; .ci/run installs redis-server).
// The built-in mnist-small on onnxruntime, one thread per worker.
const BIN = join(__dirname, '..', 'dist', 'bin.js');
const JOB = ['--count', '192', '--seed', '7', '--runtime', 'onnx'];
const PASSWORD = 's3cret-fault';
/** Every process's --shutdown-timeout, s. */
const SHUTDOWN_S = 3;
/** What a stopping process may take beyond its shutdown timeout on a loaded machine, s. */
const SLACK_S = 4;

let work: string;
let redis: TestRedis;
const children = new Set<ChildProcess>();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Started {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `farmer ARGS` in the work folder. */
function start(args: string[]): Started {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: { ...process.env, FARMER_BACKEND: 'wasm' } });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, stderr: () => stderr, stdout: () => stdout, exited };
}

/** Resolves once `check` holds (polled every 20 ms); fails after `ms` naming `what`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** `farmer worker` with one onnxruntime thread and a 3 s lock; resolves once it takes jobs. */
async function startWorker(): Promise<Started> {
  const w = start(['worker', '--redis', redis.url, '--runtime', 'onnx', '--threads', '1', '--lock-seconds', '3', '--shutdown-timeout', String(SHUTDOWN_S)]);
  await until(() => /worker \S+ ready/.test(w.stderr()) || w.child.exitCode !== null, 60_000, 'a worker to start');
  if (w.child.exitCode !== null) throw new Error(`farmer worker exited ${w.child.exitCode}: ${w.stderr()}`);
  return w;
}

/** `farmer serve --redis` on a free port; resolves with its URL once it serves. */
async function startServe(): Promise<Started & { url: string }> {
  const s = start(['serve', '--redis', redis.url, '--models', builtinModelDir(), '--runtime', 'onnx', '--port', '0', '--shutdown-timeout', String(SHUTDOWN_S), '--log-level', 'warn']);
  const at = (): string | undefined => /serving \d+ model\(s\) at (http:\/\/\S+)/.exec(s.stderr())?.[1];
  await until(() => at() !== undefined || s.child.exitCode !== null, 60_000, 'the server to start');
  if (s.child.exitCode !== null) throw new Error(`farmer serve exited ${s.child.exitCode}: ${s.stderr()}`);
  return { ...s, url: at()! };
}

/** SIGTERM, then how long the process took to end (s) and how it ended. */
async function terminate(p: Started): Promise<{ seconds: number; code: number | null; signal: NodeJS.Signals | null }> {
  const t0 = performance.now();
  p.child.kill('SIGTERM');
  const end = await p.exited;
  return { seconds: (performance.now() - t0) / 1000, ...end };
}

const pngs = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.png')).sort() : []);

/** The files of `dir` that differ from those of `reference` of the same name. */
const differing = (dir: string, reference: string): string[] => pngs(dir).filter((f) => !readFileSync(join(dir, f)).equals(readFileSync(join(reference, f))));

describe('Redis killed in the middle of a sharded job', () => {
  let reference: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'farmer-redis-faults-'));
    redis = await startRedisServer({ password: PASSWORD });
    reference = join(work, 'one-process');
    const one = start(['sample', ...JOB, '--out', 'one.png', '--separate', reference]);
    const end = await one.exited;
    expect(end.code, one.stderr()).toBe(0);
    expect(pngs(reference)).toHaveLength(192);
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('the submitter exits 2 within 15 s; SIGTERM ends the server and the workers within their shutdown timeouts; once Redis is back, the resubmitted job gives the bytes of one process', async () => {
    const [w1, w2] = await Promise.all([startWorker(), startWorker()]);
    const server = await startServe();
    // The server's Redis connections in use: a request drawn by a worker.
    const gen = await fetch(`${server.url}/v1/models/mnist-small/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: 1, labels: 2, seed: 1 }) });
    expect(gen.status, await gen.clone().text()).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    const out = join(work, 'sharded');
    const sample = ['sample', '--redis', redis.url, ...JOB, '--shard-size', '16', '--out', 'sharded.png', '--separate', out];
    const submitter = start(sample);
    // Once the first shard's files are written, both workers are drawing the next ones: kill Redis.
    await until(() => pngs(out).length > 0 || submitter.child.exitCode !== null, 60_000, 'the first shard to be written');
    await redis.kill();
    const killedAt = performance.now();
    const end = await Promise.race([submitter.exited, sleep(30_000).then(() => undefined)]);
    const seconds = (performance.now() - killedAt) / 1000;
    expect(end, `the submitter still runs 30 s after Redis died: ${submitter.stderr()}`).toBeDefined();
    expect(end!.code, submitter.stderr()).toBe(2);
    expect(seconds).toBeLessThan(15);
    const stderr = submitter.stderr();
    expect(stderr).toMatch(/farmer: error: lost Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/? and it did not come back within 5 s .*; run \w+ stopped with \d+ of 12 shards done; resubmit the same command once Redis is back to continue it .*\[FARMER_E_BACKEND\]/);
    expect(stderr + submitter.stdout()).not.toContain(PASSWORD);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    // What was written stays, and is right.
    const written = pngs(out);
    expect(written.length).toBeGreaterThan(0);
    expect(written.length).toBeLessThan(192);
    expect(differing(out, reference)).toEqual([]);

    // The server is alive but not ready while Redis is away.
    let readyz = await fetch(`${server.url}/readyz`);
    for (const t0 = Date.now(); readyz.status !== 503 && Date.now() - t0 < 5000; readyz = await fetch(`${server.url}/readyz`)) await sleep(100);
    expect(readyz.status).toBe(503);
    expect(((await readyz.json()) as { status: string }).status).toBe('redis-unreachable');

    // A request in flight, waiting on Redis; then SIGTERM ends each process within its shutdown timeout (plus
    // slack), though Redis is still down. The request is answered (503) when the server gives up on it.
    const inFlight = fetch(`${server.url}/v1/models/mnist-small/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: 1, labels: 4, seed: 2 }) }).catch((e: Error) => e);
    await sleep(500);
    const stops = await Promise.all([server, w1, w2].map(terminate));
    const answer = await inFlight;
    expect(answer instanceof Error ? answer.message : answer.status).toBe(503);
    for (const [i, stop] of stops.entries()) {
      const who = ['farmer serve', 'worker 1', 'worker 2'][i];
      expect(stop.signal, `${who} was killed by a signal`).toBeNull();
      expect(stop.seconds, `${who} took ${stop.seconds.toFixed(1)} s to stop`).toBeLessThan(SHUTDOWN_S + SLACK_S);
      expect(stop.code, `${who}: ${[server, w1, w2][i].stderr().slice(-2000)}`).toBe(0);
    }

    // Redis back on its port (empty: no persistence), fresh workers, the same command again.
    redis = await startRedisServer({ port: redis.port, password: PASSWORD });
    const workers = await Promise.all([startWorker(), startWorker()]);
    try {
      const again = start(sample);
      const done = await again.exited;
      expect(done.code, again.stderr()).toBe(0);
      expect(again.stdout()).toMatch(/wrote 192 samples .* in 12 shards/);
      expect(pngs(out)).toEqual(pngs(reference));
      expect(differing(out, reference)).toEqual([]);
    } finally {
      await Promise.all(workers.map(terminate));
    }
  });
});
