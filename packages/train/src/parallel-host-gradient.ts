import { FarmerError } from '@farmer/core';
import { weightedMean, type NamedArrays } from './all-reduce.js';
import type { HostGradient } from './host-engine.js';
import type { FromHostWorker, ToHostWorker } from './host-worker-protocol.js';
import type { Figures, ReplicaSource, Sharding } from './objective.js';
import { batchShards, copyArrays, meanFigures } from './shards.js';
import { WorkerHandle, workerScript } from './worker-handle.js';
import { flatten, transferables, unflatten } from './worker-protocol.js';

/** What a host replica module exports: worker threads build their HostGradient with it. */
export interface HostReplicaModule {
  /** Builds one replica's gradient source in a worker thread from the objective's spec (structured-cloned). */
  createHostReplica(spec: unknown): HostGradient<never, Figures> | Promise<HostGradient<never, Figures>>;
}

/** Options of {@link ParallelHostGradient.start}. */
export interface ParallelHostOptions<TBatch> {
  /** Replicas in all: this thread's `local` plus `replicas − 1` worker threads. */
  replicas: number;
  /** How a batch splits into shards. */
  sharding: Sharding<TBatch>;
  /** The module and spec each worker thread builds its replica from. */
  replica: ReplicaSource;
  /** Test hook: make worker thread `worker` (1-based) throw on its `step`-th gradient. */
  failAt?: { worker: number; step: number };
  /** A worker silent for this long is declared hung (default: 10 min). */
  stepTimeoutMs?: number;
}

/**
 * Where a data-parallel step's wall time went, summed over steps (ms): packing
 * and posting weights and shards, this thread's shard, waiting for the
 * slowest worker after it, and the all-reduce. `pack + wait + reduce` is the
 * exchange's cost on the critical path.
 */
export interface ParallelTiming {
  steps: number;
  packMs: number;
  localMs: number;
  waitMs: number;
  reduceMs: number;
  /** Time the workers spent in their own `gradient` (summed over workers). */
  workerMs: number;
  /** From posting a request to its arrival in the worker (summed over workers). */
  deliverMs: number;
  /** From a worker's answer leaving to this thread reading it, when this thread was already waiting (summed over workers). */
  returnMs: number;
}

/**
 * Data-parallel gradients over host arrays (docs/method.md §6.7 Data parallelism):
 * this thread's HostGradient computes the first shard while each worker
 * thread's replica, built from a module path, computes its own. Every
 * request carries the current weights (they are graph inputs, so a replica
 * needs them each step; a copy of 4·P bytes, transferred); the gradients
 * come back as transferred buffers and their shard-weighted mean is the
 * step's gradient. The optimizer stays with the caller (the host engine),
 * so there is one copy of the optimizer state and nothing to keep in sync.
 */
export class ParallelHostGradient<TBatch, TFigures extends Figures> implements HostGradient<TBatch, TFigures> {
  readonly name: string;
  readonly threads: number;
  readonly replicas: number;
  readonly timing: ParallelTiming = { steps: 0, packMs: 0, localMs: 0, waitMs: 0, reduceMs: 0, workerMs: 0, deliverMs: 0, returnMs: 0 };
  private readonly workers: WorkerHandle<ToHostWorker, FromHostWorker>[] = [];
  private nextId = 0;

  private constructor(
    private readonly local: HostGradient<TBatch, TFigures>,
    private readonly opts: ParallelHostOptions<TBatch>,
  ) {
    this.name = local.name;
    this.threads = local.threads;
    this.replicas = opts.replicas;
  }

  /** Starts `replicas − 1` worker threads, each building its replica for parameters of `sizes` elements; resolves once all are ready. */
  static async start<TBatch, TFigures extends Figures>(
    local: HostGradient<TBatch, TFigures>,
    sizes: number[],
    opts: ParallelHostOptions<TBatch>,
  ): Promise<ParallelHostGradient<TBatch, TFigures>> {
    if (!Number.isInteger(opts.replicas) || opts.replicas < 1) throw new FarmerError('FARMER_E_BAD_INPUT', `workers must be a positive integer, got ${opts.replicas}`, { field: 'workers' });
    const g = new ParallelHostGradient(local, opts);
    try {
      for (let i = 1; i < opts.replicas; i++) g.workers.push(new WorkerHandle(i, workerScript('host-replica-worker'), opts.stepTimeoutMs ?? 600_000));
      const failAtStep = (w: number) => (opts.failAt?.worker === w ? opts.failAt.step : undefined);
      await Promise.all(g.workers.map((w) => w.request({ type: 'init', replica: opts.replica, sizes, failAtStep: failAtStep(w.index) }, 'ready')));
    } catch (err) {
      await g.dispose();
      throw err;
    }
    return g;
  }

  async gradient(weights: Float32Array[], batch: TBatch): Promise<{ loss: number; figures: TFigures; grads: Float32Array[] }> {
    const t0 = performance.now();
    const total = this.opts.sharding.size(batch);
    const shards = batchShards(total, this.replicas);
    const id = ++this.nextId;
    const flat = this.workers.length ? flatten(weights) : undefined;
    let start = shards[0];
    const remote = this.workers.map((w, i) => {
      const shard = copyArrays(this.opts.sharding.shard(batch, start, shards[i + 1]));
      start += shards[i + 1];
      // The last worker takes the packed weights; the others get copies.
      const wts = i === this.workers.length - 1 ? flat! : flat!.slice();
      return w.request({ type: 'gradient', id, weights: wts, batch: shard }, 'grads', [wts.buffer as ArrayBuffer, ...transferables(shard)]);
    });
    // Handled from now on: a worker may fail while this thread is still on its own shard.
    const answered = Promise.all(remote);
    answered.catch(() => undefined);
    const t1 = performance.now();
    const posted = performance.timeOrigin + t1;
    // This thread's shard runs while the workers run theirs.
    let mine;
    try {
      mine = await this.local.gradient(weights, this.opts.sharding.shard(batch, 0, shards[0]));
    } catch (e) {
      await Promise.allSettled(remote);
      throw e;
    }
    const t2 = performance.now();
    const answers = await answered;
    const t3 = performance.now();
    const named = (parts: Float32Array[]): NamedArrays => new Map(parts.map((p, i) => [String(i), p]));
    const sizes = weights.map((w) => w.length);
    const parts = [
      { arrays: named(mine.grads), weight: shards[0], loss: mine.loss, figures: mine.figures as Figures },
      ...answers.map((a, i) => ({ arrays: named(unflatten(a.grads, sizes)), weight: shards[i + 1], loss: a.loss, figures: a.figures })),
    ];
    const mean = weightedMean(parts);
    const grads = sizes.map((_, i) => mean.get(String(i))!);
    const t4 = performance.now();
    const tm = this.timing;
    tm.steps++;
    tm.packMs += t1 - t0;
    tm.localMs += t2 - t1;
    tm.waitMs += t3 - t2;
    tm.reduceMs += t4 - t3;
    tm.workerMs += answers.reduce((s, a) => s + a.ms, 0);
    tm.deliverMs += answers.reduce((s, a) => s + (a.at[0] - posted), 0);
    const waitedFrom = performance.timeOrigin + t2;
    tm.returnMs += answers.reduce((s, a) => s + Math.max(0, performance.timeOrigin + t3 - Math.max(a.at[1], waitedFrom)), 0);
    return {
      loss: parts.reduce((s, p) => s + (p.weight / total) * p.loss, 0),
      figures: meanFigures(parts, total) as TFigures,
      grads,
    };
  }

  /** Releases every replica (each worker its own sessions), then stops the threads. */
  async dispose(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.request({ type: 'dispose' }, 'disposed')));
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    await this.local.dispose();
  }
}
