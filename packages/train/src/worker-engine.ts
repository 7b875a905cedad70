import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { backendInfo, FarmerError, tf } from '@farmer/core';
import { weightedMean, type NamedArrays } from './all-reduce.js';
import { paramSizes, type EngineContext, type EngineFactory, type EngineState, type StepGradients, type StepUpdate, type TrainEngine } from './engine.js';
import { globalNorm } from './grad-norm.js';
import type { Figures, ReplicaSource, Sharding, TfBinding } from './objective.js';
import { TfEngine, TfTrainState } from './tf-engine.js';
import { flatten, transferables, unflatten, weightChecksum, type FromWorker, type ToWorker } from './worker-protocol.js';

/** What the data-parallel engine needs of a tfjs objective besides its binding. */
export interface DataParallel<TBatch> extends Sharding<TBatch> {
  /** How a worker thread builds its replica (resolved when workers start). */
  replica(): ReplicaSource;
}

/** Options of {@link WorkerEngine.start}. */
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
  const candidates = [join(here, 'train-worker.js'), join(here, 'train-worker.cjs'), join(here, '..', 'dist', 'train-worker.js')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new FarmerError('FARMER_E_INTERNAL', `cannot find the training worker script (looked in ${candidates.join(', ')}); build @farmer/train first`);
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

/** Figures of several shards, each weighted by its share of the batch (in this order, so the sum is reproducible). */
function meanFigures(parts: { figures: Figures; weight: number }[], total: number): Figures {
  const out: Figures = {};
  for (const key of Object.keys(parts[0].figures)) {
    const first = parts[0].figures[key];
    out[key] = Array.isArray(first)
      ? first.map((_, j) => parts.reduce((s, p) => s + (p.weight / total) * (p.figures[key] as number[])[j], 0))
      : parts.reduce((s, p) => s + (p.weight / total) * (p.figures[key] as number), 0);
  }
  return out;
}

/**
 * Data-parallel gradients across worker threads. This thread is replica 0
 * and computes the first shard; each worker thread holds a full replica with
 * its own backend, built from the objective's replica module. Per step:
 * shards go out as transferable typed arrays, gradients come back the same
 * way, and their shard-weighted mean (the all-reduce) is the step's
 * gradient; `apply` updates this thread's weights (AdamW, then EMA) and
 * sends the same mean, scale and learning rate to every worker, which
 * applies the identical AdamW update, so replicas stay bit-identical.
 */
export class WorkerEngine<TBatch, TFigures extends Figures> implements TrainEngine<TBatch, TFigures> {
  readonly name = 'tfjs';
  readonly workers: number;
  private readonly threads: WorkerHandle[] = [];
  private readonly sizes: number[];
  private readonly names: string[];
  private readonly train: TfTrainState;
  private nextId = 0;
  /** Updates sent but not yet acknowledged: the workers apply them while this thread moves on. */
  private inflight: Promise<unknown>[] = [];
  private pending?: tf.Tensor[];

  private constructor(
    private readonly binding: TfBinding<TBatch, TFigures>,
    private readonly parallel: DataParallel<TBatch>,
    ctx: EngineContext,
    private readonly opts: WorkerEngineOptions,
  ) {
    this.workers = opts.workers;
    this.sizes = paramSizes(ctx.params);
    this.names = ctx.params.map((p) => p.name);
    this.train = new TfTrainState(binding.variables, ctx);
  }

  /** Starts `workers − 1` worker threads, each building its replica, and returns the engine once all are ready. */
  static async start<TBatch, TFigures extends Figures>(
    binding: TfBinding<TBatch, TFigures>,
    parallel: DataParallel<TBatch>,
    ctx: EngineContext,
    opts: WorkerEngineOptions,
  ): Promise<WorkerEngine<TBatch, TFigures>> {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `workers must be a positive integer, got ${opts.workers}`, { field: 'workers' });
    const e = new WorkerEngine(binding, parallel, ctx, opts);
    const backend = backendInfo()?.name ?? 'wasm';
    const { weights, optimizer } = e.train.state();
    try {
      for (let i = 1; i < opts.workers; i++) e.threads.push(new WorkerHandle(i, opts.stepTimeoutMs ?? 600_000));
      await Promise.all(
        e.threads.map((th) =>
          th.request(
            {
              type: 'init',
              backend,
              replica: parallel.replica(),
              adamw: ctx.adamw,
              weights,
              optimizer: optimizer!,
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

  async compute(batch: TBatch): Promise<StepGradients<TFigures>> {
    this.drop();
    const total = this.parallel.size(batch);
    const sizes = shardSizes(total, this.workers);
    if (sizes.some((s) => s === 0)) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `batch ${total} is smaller than the ${this.workers} workers; raise the batch size or use fewer workers`, { field: 'workers' });
    }
    const id = ++this.nextId;
    let start = sizes[0];
    const remote = this.threads.map((th, i) => {
      const shard = copyArrays(this.parallel.shard(batch, start, sizes[i + 1]));
      start += sizes[i + 1];
      return th.request({ type: 'compute', id, batch: shard }, 'grads', transferables(shard));
    });
    // Replica 0 works on the first shard while the threads work on theirs.
    let local;
    try {
      local = this.binding.lossAndGrads(this.parallel.shard(batch, 0, sizes[0]));
    } catch (e) {
      await Promise.allSettled(remote);
      throw e;
    }
    const localFlat = local.grads.map((g) => g.dataSync() as Float32Array);
    tf.dispose(local.grads);
    const answers = await Promise.all(remote);
    await this.settleUpdates();
    const asNamed = (parts: Float32Array[]): NamedArrays => new Map(this.names.map((n, i) => [n, parts[i]]));
    const contributions = [
      { arrays: asNamed(localFlat), weight: sizes[0], loss: local.loss, figures: local.figures as Figures },
      ...answers.map((a, i) => ({ arrays: asNamed(unflatten(a.grads, this.sizes)), weight: sizes[i + 1], loss: a.loss, figures: a.figures })),
    ];
    const mean = weightedMean(contributions);
    const vars = this.binding.variables;
    this.pending = this.names.map((n, i) => tf.tensor(mean.get(n)!, vars[i].shape));
    return {
      loss: contributions.reduce((s, c) => s + (c.weight / total) * c.loss, 0),
      gradNorm: globalNorm(this.pending),
      figures: meanFigures(contributions, total) as TFigures,
    };
  }

  /** Applies the update here and sends it to every worker without waiting: it queues ahead of the next shard. */
  async apply(u: StepUpdate): Promise<void> {
    if (!this.pending) throw new FarmerError('FARMER_E_INTERNAL', 'apply() without a compute()');
    if (!u.skipped) this.train.update(this.pending, u.lr, u.scale);
    const id = ++this.nextId;
    const flat = u.skipped ? null : flatten(this.pending.map((g) => g.dataSync() as Float32Array));
    this.drop();
    for (const th of this.threads) {
      const copy = flat ? flat.slice() : null;
      const p = th.request({ type: 'update', id, grads: copy, lr: u.lr, scale: u.scale }, 'updated', copy ? [copy.buffer] : []);
      p.catch(() => undefined); // surfaced by settleUpdates
      this.inflight.push(p);
    }
  }

  async state(): Promise<EngineState> {
    return this.train.state();
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
    const mine = weightChecksum(this.binding.variables.map((v) => v.dataSync() as Float32Array));
    return { checksums: [mine, ...answers.map((a) => a.sum)], workerTensors: answers.map((a) => a.numTensors) };
  }

  private drop(): void {
    if (this.pending) tf.dispose(this.pending);
    this.pending = undefined;
  }

  /** Stops the worker threads and frees the training state. */
  async dispose(): Promise<void> {
    this.drop();
    await Promise.allSettled(this.inflight);
    await Promise.all(this.threads.map((t) => t.terminate()));
    this.threads.length = 0;
    this.train.dispose();
  }
}

/** A batch whose typed-array fields are copies (shards are views into the whole batch; transferring would detach it). */
function copyArrays<T>(batch: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(batch as Record<string, unknown>)) out[k] = ArrayBuffer.isView(v) ? (v as Float32Array).slice() : v;
  return out as T;
}

/**
 * A tfjs engine factory with `workers` replicas: the in-process engine for
 * 1, worker threads (plus this one) for more.
 */
export function workerEngine<TBatch, TFigures extends Figures>(
  binding: TfBinding<TBatch, TFigures>,
  parallel: DataParallel<TBatch> | undefined,
  opts: WorkerEngineOptions,
): EngineFactory<TBatch, TFigures> {
  return async (ctx) => {
    if (opts.workers === 1 && !opts.failAt) return new TfEngine(binding, ctx);
    if (!parallel) throw new FarmerError('FARMER_E_BAD_INPUT', `this objective trains on one thread only; got workers ${opts.workers}`, { field: 'workers' });
    return WorkerEngine.start(binding, parallel, ctx, opts);
  };
}
