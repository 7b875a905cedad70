import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { backendInfo, FarmerError, tf } from '@farmer/core';
import type { FarmerModel } from '../farmer-model.js';
import type { AdamW } from './adamw.js';
import { weightedMean, type NamedArrays } from './all-reduce.js';
import { shardBatch, type PreparedBatch } from './batch-prep.js';
import { lossAndGrads } from './loss.js';
import type { GradientEngine } from './trainer.js';
import { flatten, unflatten, weightChecksum, type FromWorker, type ToWorker } from './worker-protocol.js';

/** What an engine factory gets from the trainer. */
export interface EngineContext {
  model: FarmerModel;
  optimizer: AdamW;
}

export interface WorkerEngineOptions {
  /** Replicas in all: this thread plus `workers − 1` worker threads. */
  workers: number;
  /** Test hook: make worker thread `worker` (1-based) throw on its `step`-th compute. */
  failAt?: { worker: number; step: number };
  /** A worker silent for this long is declared hung (default: 10 min). */
  stepTimeoutMs?: number;
}

/**
 * Default replica count: the available cores on wasm/cpu (each thread gets its
 * own single-threaded backend), 1 on the native `tensorflow` backend, which
 * already uses every core.
 */
export function defaultWorkerCount(): number {
  const b = backendInfo()?.name;
  if (b === 'tensorflow') return 1;
  return Math.max(1, availableParallelism());
}

/** The built worker script next to this module (dist/train-worker.{js,cjs}). */
function workerScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'train-worker.js'), join(here, 'train-worker.cjs'), join(here, '..', '..', 'dist', 'train-worker.js')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new FarmerError('FARMER_E_INTERNAL', `cannot find the training worker script (looked in ${candidates.join(', ')}); build @farmer/ar-gmm first`);
  return found;
}

/**
 * One worker thread. Requests are answered in order (the worker handles its
 * messages one at a time), so several may be in flight; any failure rejects
 * all of them instead of hanging.
 */
class WorkerHandle {
  private readonly worker: Worker;
  private readonly pending: { type: FromWorker['type']; resolve: (m: FromWorker) => void; reject: (e: Error) => void }[] = [];
  private failure?: Error;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly index: number,
    private readonly timeoutMs: number,
  ) {
    this.worker = new Worker(workerScript());
    this.worker.on('message', (m: FromWorker) => {
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

  request<T extends FromWorker['type']>(msg: ToWorker, expect: T, transfer: ArrayBuffer[] = []): Promise<Extract<FromWorker, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ type: expect, resolve: resolve as (m: FromWorker) => void, reject });
      if (this.pending.length === 1) this.arm();
      this.worker.postMessage(msg, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error('terminated');
    clearTimeout(this.timer);
    await this.worker.terminate();
  }
}

/** Sizes of W shards of a batch of B: as even as possible, larger ones first. */
export function shardSizes(batch: number, workers: number): number[] {
  const base = Math.floor(batch / workers);
  return Array.from({ length: workers }, (_, i) => base + (i < batch % workers ? 1 : 0));
}

/**
 * Data-parallel gradients across worker threads. This thread is replica 0
 * and computes the first shard; each worker thread holds a full replica with
 * its own backend. Per step: shards go out as transferable Float32Arrays,
 * gradients come back the same way, and their shard-weighted mean (the
 * all-reduce) goes to the trainer, which clips, guards and applies AdamW;
 * `afterUpdate` then sends the same mean, scale and learning rate to every
 * worker, which applies the identical update, so replicas stay bit-identical.
 */
export class WorkerEngine implements GradientEngine {
  readonly workers: number;
  private readonly threads: WorkerHandle[] = [];
  private readonly sizes: number[];
  private nextId = 0;
  /** Updates sent but not yet acknowledged: the workers apply them while this thread moves on. */
  private inflight: Promise<unknown>[] = [];

  private constructor(
    private readonly ctx: EngineContext,
    private readonly opts: WorkerEngineOptions,
  ) {
    this.workers = opts.workers;
    this.sizes = ctx.model.variables().map((v) => v.size);
  }

  static async start(ctx: EngineContext, opts: WorkerEngineOptions): Promise<WorkerEngine> {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `workers must be a positive integer, got ${opts.workers}`, { field: 'workers' });
    const e = new WorkerEngine(ctx, opts);
    const backend = backendInfo()?.name ?? 'wasm';
    const weights = ctx.model.variableValues();
    const { m, v, t } = ctx.optimizer.rawState();
    try {
      for (let i = 1; i < opts.workers; i++) e.threads.push(new WorkerHandle(i, opts.stepTimeoutMs ?? 600_000));
      await Promise.all(
        e.threads.map((th) =>
          th.request(
            {
              type: 'init',
              backend,
              config: ctx.model.config,
              adamw: ctx.optimizer.opts,
              weights,
              m,
              v,
              t,
              failAtStep: opts.failAt?.worker === th.index ? opts.failAt.step : undefined,
            },
            'ready',
          ),
        ),
      );
    } catch (err) {
      await e.dispose();
      throw err;
    }
    return e;
  }

  async compute(batch: PreparedBatch): Promise<{ loss: number; logdetPerDim: number; grads: tf.Tensor[] }> {
    const sizes = shardSizes(batch.shape[0], this.workers);
    if (sizes.some((s) => s === 0)) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `batch ${batch.shape[0]} is smaller than the ${this.workers} workers; raise the batch size or use fewer workers`, { field: 'workers' });
    }
    const id = ++this.nextId;
    let start = sizes[0];
    const remote = this.threads.map((th, i) => {
      const shard = shardBatch(batch, start, sizes[i + 1]);
      start += sizes[i + 1];
      const values = shard.values.slice();
      const labels = shard.labels.slice();
      return th.request({ type: 'compute', id, values, shape: shard.shape, labels }, 'grads', [values.buffer, labels.buffer]);
    });
    // Replica 0 works on the first shard while the threads work on theirs.
    let local;
    try {
      local = lossAndGrads(this.ctx.model, shardBatch(batch, 0, sizes[0]));
    } catch (e) {
      await Promise.allSettled(remote);
      throw e;
    }
    const localFlat = local.grads.map((g) => g.dataSync() as Float32Array);
    tf.dispose(local.grads);
    const answers = await Promise.all(remote);
    await this.settleUpdates();
    const names = this.ctx.model.variableNames();
    const asNamed = (parts: Float32Array[]): NamedArrays => new Map(names.map((n, i) => [n, parts[i]]));
    const contributions = [
      { arrays: asNamed(localFlat), weight: sizes[0], loss: local.loss, logdet: local.logdetPerDim },
      ...answers.map((a, i) => ({ arrays: asNamed(unflatten(a.grads, this.sizes)), weight: sizes[i + 1], loss: a.loss, logdet: a.logdetPerDim })),
    ];
    const mean = weightedMean(contributions);
    const total = batch.shape[0];
    const vars = this.ctx.model.variables();
    return {
      loss: contributions.reduce((s, c) => s + (c.weight / total) * c.loss, 0),
      logdetPerDim: contributions.reduce((s, c) => s + (c.weight / total) * c.logdet, 0),
      grads: names.map((n, i) => tf.tensor(mean.get(n)!, vars[i].shape)),
    };
  }

  /** Sends the update to every worker without waiting: it queues ahead of the next shard. */
  async afterUpdate(u: { grads: tf.Tensor[]; lr: number; scale: number; skipped: boolean }): Promise<void> {
    const id = ++this.nextId;
    const flat = u.skipped ? null : flatten(u.grads.map((g) => g.dataSync() as Float32Array));
    for (const th of this.threads) {
      const copy = flat ? flat.slice() : null;
      const p = th.request({ type: 'update', id, grads: copy, lr: u.lr, scale: u.scale }, 'updated', copy ? [copy.buffer] : []);
      p.catch(() => undefined); // surfaced by settleUpdates
      this.inflight.push(p);
    }
  }

  /** Waits for every pending update (and rethrows a worker failure). */
  private async settleUpdates(): Promise<void> {
    const p = this.inflight;
    this.inflight = [];
    await Promise.all(p);
  }

  /** Weight checksums of every replica (this thread first) and the workers' tensor counts. */
  async replicaState(): Promise<{ checksums: number[]; workerTensors: number[] }> {
    await this.settleUpdates();
    const id = ++this.nextId;
    const answers = await Promise.all(this.threads.map((th) => th.request({ type: 'checksum', id }, 'checksum')));
    const mine = weightChecksum(this.ctx.model.variables().map((v) => v.dataSync() as Float32Array));
    return { checksums: [mine, ...answers.map((a) => a.sum)], workerTensors: answers.map((a) => a.numTensors) };
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.inflight);
    await Promise.all(this.threads.map((t) => t.terminate()));
    this.threads.length = 0;
  }
}

/** An engine factory for the Trainer: `workers` replicas (1 = this thread only). */
export function workerEngine(opts: WorkerEngineOptions): (ctx: EngineContext) => Promise<GradientEngine> {
  return async (ctx) => {
    if (opts.workers === 1 && !opts.failAt) {
      return { workers: 1, compute: async (b) => lossAndGrads(ctx.model, b), dispose: () => undefined };
    }
    return WorkerEngine.start(ctx, opts);
  };
}
