import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '@farmer/core';
import { imagesSha256, REFERENCE_CASES, startRedisServer, type ReferenceCase, type TestRedis } from '@farmer/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The reference images (issue 29): `farmer sample` draws the same bytes as
 * before the sampling-options refactor, in one process (onnxruntime, and
 * tfjs for one case) and sharded on a `farmer worker` through Redis. The
 * hashes are packages/test-utils/fixtures/reference-images.json, recorded
 * by scripts/record-reference-images.mjs before the refactor.
 */
const BIN = join(__dirname, '..', 'dist', 'bin.js');

/** Runs `farmer [globals] sample --model M <case flags> <extra>` and returns the hash and labels of its --separate PNGs. */
function sample(c: ReferenceCase, extra: string[], globals: string[] = []): { sha256: string; labels: number[] } {
  const dir = mkdtempSync(join(tmpdir(), 'farmer-reference-'));
  try {
    const args = [BIN, ...globals, 'sample', '--model', c.model, ...c.cli, ...extra, '--separate', join(dir, 'images'), '--out', join(dir, 'grid.png'), '--quiet'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const files = readdirSync(join(dir, 'images')).filter((f) => f.endsWith('.png')).sort();
    return {
      sha256: imagesSha256(files.map((f) => decodePng(new Uint8Array(readFileSync(join(dir, 'images', f))), 1).data)),
      labels: files.map((f) => Number(/label(-?\d+)\.png$/.exec(f)![1])),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('farmer sample draws the reference images', () => {
  it.each(REFERENCE_CASES.map((c) => [c.name, c] as const))('%s on onnxruntime', (_, c) => {
    const got = sample(c, ['--runtime', 'onnx']);
    expect(got.labels).toEqual(c.labels);
    expect(got.sha256).toBe(c.sha256['cli-onnx']);
  });

  it.each(REFERENCE_CASES.filter((c) => c.tfjs).map((c) => [c.name, c] as const))('%s on tfjs (wasm)', (_, c) => {
    const got = sample(c, ['--runtime', 'tfjs'], ['--backend', 'wasm']);
    expect(got.labels).toEqual(c.labels);
    expect(got.sha256).toBe(c.sha256['cli-tfjs']);
  });
});

describe('farmer sample --redis draws the reference images on a worker, in shards', () => {
  let redis: TestRedis;
  let worker: ChildProcess;

  beforeAll(async () => {
    redis = await startRedisServer();
    worker = spawn(process.execPath, [BIN, 'worker', '--redis', redis.url, '--runtime', 'onnx', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    worker.stderr!.on('data', (d) => (log += d));
    await new Promise<void>((resolve, reject) => {
      const iv = setInterval(() => {
        if (/worker \S+ ready/.test(log)) {
          clearInterval(iv);
          resolve();
        } else if (worker.exitCode !== null) {
          clearInterval(iv);
          reject(new Error(`farmer worker exited ${worker.exitCode}: ${log}`));
        }
      }, 50);
    });
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await redis?.stop();
  });

  it.each(REFERENCE_CASES.filter((c) => c.sharded).map((c) => [c.name, c] as const))('%s', (_, c) => {
    const got = sample(c, ['--runtime', 'onnx', '--redis', redis.url, ...c.sharded!]);
    expect(got.labels).toEqual(c.labels);
    expect(got.sha256).toBe(c.sha256.sharded);
  });
});
