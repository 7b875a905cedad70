import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmerModel, preset, saveFarmer, Trainer } from '@farmer/ar-gmm';
import { decodePng, gatherExamples, initBackend, loadDataset, type U8Images } from '@farmer/core';

const made: string[] = [];

/** A fresh temporary directory (removed by {@link removeTmp}). */
export function tmp(prefix = 'farmer-server-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every directory made by {@link tmp} in this test file. */
export function removeTmp(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * Trains a mnist-tiny model for a few steps on 256 MNIST digits and saves it
 * as a checkpoint in `dir` (about 2 s on wasm). Returns `dir`.
 */
export async function trainTinyCheckpoint(dir: string, options: { steps?: number; seed?: number } = {}): Promise<string> {
  await initBackend({ backend: 'wasm' });
  const all = await loadDataset('mnist');
  const train = { ...all, ...gatherExamples(all, Int32Array.from({ length: 256 }, (_, i) => i * 8)) };
  const model = FarmerModel.create(preset('mnist-tiny'), options.seed ?? 3);
  const t = Trainer.create({ model, train, config: { steps: options.steps ?? 10, batchSize: 8, lr: 3e-3, warmupSteps: 2, evalEvery: 0, checkpointEvery: 0, ema: null } });
  await t.run();
  t.dispose();
  await saveFarmer(dir, model);
  model.dispose();
  return dir;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = any>(): T;
}

export interface HttpOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Aborting destroys the socket (a client that disconnects). */
  signal?: AbortSignal;
}

/**
 * One HTTP request over its own connection (no keep-alive, so a destroyed
 * request really closes its socket). Objects are sent as JSON, Buffers and
 * strings as they are.
 */
export function http(method: string, url: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    let payload: Buffer | undefined;
    if (Buffer.isBuffer(options.body)) payload = options.body;
    else if (typeof options.body === 'string') payload = Buffer.from(options.body);
    else if (options.body !== undefined) {
      payload = Buffer.from(JSON.stringify(options.body));
      headers['content-type'] ??= 'application/json';
    }
    if (payload) headers['content-length'] = String(payload.length);
    const req = httpRequest(url, { method, headers, agent: false, signal: options.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Decodes PNG bytes (base64 or raw) to check their size. */
export function png(bytes: Buffer | string, channels: 1 | 3 = 1): U8Images {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'base64') : bytes;
  return decodePng(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), channels);
}

/** Waits until `check` is true (polling), or fails after `ms`. */
export async function until(check: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A gate that holds jobs until opened (makes queue tests deterministic). */
export class Gate {
  private open = false;
  private waiters: (() => void)[] = [];
  held = 0;

  /** For ServerOptions.hooks.beforeJob: waits until opened or the job is aborted. */
  readonly hold = (_job: unknown, signal: AbortSignal): Promise<void> => {
    if (this.open) return Promise.resolve();
    this.held++;
    return new Promise<void>((resolve) => {
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        this.held--;
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  };

  release(): void {
    this.open = true;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
