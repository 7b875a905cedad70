import { availableParallelism } from 'node:os';
import { backendInfo, FarmerError, tf } from '@farmer/core';
import { weightedMean, type NamedArrays } from './all-reduce.js';
import { paramSizes, type EngineContext, type EngineFactory, type EngineState, type StepGradients, type StepUpdate, type TrainEngine } from './engine.js';
import { globalNorm } from './grad-norm.js';
import type { Figures, ReplicaSource, Sharding, TfBinding } from './objective.js';
import { TfEngine, TfTrainState } from './tf-engine.js';
import { batchShards, copyArrays, meanFigures } from './shards.js';
import { WorkerHandle, workerScript } from './worker-handle.js';
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

/**
 * Data-parallel gradients across worker threads. This thread is replica 0
 * and computes the first shard; each worker thread holds a full replica with
 * its own backend, built from the objective's replica module. Per step:
 * shards go out as transferable typed arrays, gradients come back the same
 * way, and their shard-weighted mean (the all-reduce) is the step's
 * gradient; `apply` sends the same mean, scale and learning rate to every
 * worker, which applies the identical AdamW update (so replicas stay
 * bit-identical), and updates this thread's weights (AdamW, then EMA)
 * meanwhile.
 */
export class WorkerEngine<TBatch, TFigures extends Figures> implements TrainEngine<TBatch, TFigures> {
  readonly name = 'tfjs';
  readonly workers: number;
  private readonly replicas: WorkerHandle<ToWorker, FromWorker>[] = [];
  private readonly sizes: number[];
  private readonly names: string[];
  private readonly train: TfTrainState;
  private nextId = 0;
  /** Updates sent but not yet acknowledged: the workers apply them while this thread moves on. */
  private inflight: Promise<unknown>[] = [];
  private pending?: tf.Tensor[];
  /** The same mean gradient on the host, concatenated in params order: what the workers are sent. */
  private pendingFlat?: Float32Array;

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
      for (let i = 1; i < opts.workers; i++) e.replicas.push(new WorkerHandle<ToWorker, FromWorker>(i, workerScript('train-worker'), opts.stepTimeoutMs ?? 600_000));
      await Promise.all(
        e.replicas.map((th) =>
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
    const sizes = batchShards(total, this.workers);
    const id = ++this.nextId;
    let start = sizes[0];
    const remote = this.replicas.map((th, i) => {
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
    this.pendingFlat = flatten(this.names.map((n) => mean.get(n)!));
    return {
      loss: contributions.reduce((s, c) => s + (c.weight / total) * c.loss, 0),
      gradNorm: globalNorm(this.pending),
      figures: meanFigures(contributions, total) as TFigures,
    };
  }

  /**
   * Sends the update to every worker without waiting (it queues ahead of the
   * next shard), then applies it here. Workers first, so that their AdamW
   * runs while this thread runs its own, instead of after it.
   */
  async apply(u: StepUpdate): Promise<void> {
    if (!this.pending || !this.pendingFlat) throw new FarmerError('FARMER_E_INTERNAL', 'apply() without a compute()');
    const id = ++this.nextId;
    for (const th of this.replicas) {
      const copy = u.skipped ? null : this.pendingFlat.slice();
      const p = th.request({ type: 'update', id, grads: copy, lr: u.lr, scale: u.scale }, 'updated', copy ? [copy.buffer] : []);
      p.catch(() => undefined); // surfaced by settleUpdates
      this.inflight.push(p);
    }
    if (!u.skipped) this.train.update(this.pending, u.lr, u.scale);
    this.drop();
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
    const answers = await Promise.all(this.replicas.map((th) => th.request({ type: 'checksum', id }, 'checksum')));
    const mine = weightChecksum(this.binding.variables.map((v) => v.dataSync() as Float32Array));
    return { checksums: [mine, ...answers.map((a) => a.sum)], workerTensors: answers.map((a) => a.numTensors) };
  }

  private drop(): void {
    if (this.pending) tf.dispose(this.pending);
    this.pending = undefined;
    this.pendingFlat = undefined;
  }

  /** Stops the worker threads and frees the training state. */
  async dispose(): Promise<void> {
    this.drop();
    await Promise.allSettled(this.inflight);
    await Promise.all(this.replicas.map((t) => t.terminate()));
    this.replicas.length = 0;
    this.train.dispose();
  }
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
