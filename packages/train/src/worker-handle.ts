import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FarmerError } from '@farmer/core';

/** A message with a discriminating `type`; `error` from a worker fails every request. */
interface Message {
  type: string;
}

/** The built worker script `name` next to this module (dist/<name>.{js,cjs}). */
export function workerScript(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, `${name}.js`), join(here, `${name}.cjs`), join(here, '..', 'dist', `${name}.js`)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new FarmerError('FARMER_E_INTERNAL', `cannot find the training worker script (looked in ${candidates.join(', ')}); build @farmer/train first`);
  return found;
}

/**
 * One training worker thread. Requests are answered in order (a worker
 * handles its messages one at a time), so several may be in flight; any
 * failure, exit or silence longer than `timeoutMs` rejects all of them
 * instead of hanging the run.
 */
export class WorkerHandle<In extends Message, Out extends Message> {
  private readonly worker: Worker;
  private readonly pending: { type: Out['type']; resolve: (m: Out) => void; reject: (e: Error) => void }[] = [];
  private failure?: Error;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly index: number,
    script: string,
    private readonly timeoutMs: number,
  ) {
    this.worker = new Worker(script);
    this.worker.on('message', (m: Out & { message?: string }) => {
      if (m.type === 'error') return this.fail(new Error(m.message));
      const p = this.pending.shift();
      if (!p || p.type !== m.type) return this.fail(new Error(`unexpected '${m.type}' message`));
      this.arm();
      p.resolve(m);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => {
      if (!this.failure) this.fail(new Error(`exited with code ${code}`));
    });
  }

  /** (Re)starts the hang timer while anything is pending. */
  private arm(): void {
    clearTimeout(this.timer);
    if (this.pending.length) this.timer = setTimeout(() => this.fail(new Error(`no answer within ${Math.round(this.timeoutMs / 1000)} s (hung?)`)), this.timeoutMs);
  }

  private fail(cause: Error): void {
    this.failure ??= new FarmerError('FARMER_E_INTERNAL', `training worker ${this.index} failed: ${cause.message}`, { worker: this.index }, { cause });
    clearTimeout(this.timer);
    for (const p of this.pending.splice(0)) p.reject(this.failure);
  }

  /** Sends `msg` (transferring `transfer`) and resolves with the answer of type `expect`. */
  request<T extends Out['type']>(msg: In, expect: T, transfer: ArrayBuffer[] = []): Promise<Extract<Out, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ type: expect, resolve: resolve as (m: Out) => void, reject });
      if (this.pending.length === 1) this.arm();
      this.worker.postMessage(msg, transfer);
    });
  }

  /** Stops the thread; later requests reject. */
  async terminate(): Promise<void> {
    this.failure ??= new Error('terminated');
    clearTimeout(this.timer);
    await this.worker.terminate();
  }
}
