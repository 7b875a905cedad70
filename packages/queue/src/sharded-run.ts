import type { ShardSpec } from './shard-plan.js';

/** Progress across every worker. */
export interface ShardedProgress {
  images: number;
  /** Images in shards written, plus those the running shards report. */
  imagesDone: number;
  shards: number;
  shardsDone: number;
  /** Workers listening on the model's shard queue now. */
  workers: number;
}

/**
 * The state of one submission of a sharded run, shared by its steps: which
 * shards are still to collect, what the running ones report, the first
 * failure, and a wake-up for the loop that waits on them.
 */
export class ShardedRun {
  /** Shards not written yet, by index. */
  readonly pending = new Map<number, ShardSpec>();
  /** Images each running shard reports done. */
  readonly inFlight = new Map<number, number>();
  /** The attempts of each shard already told about. */
  readonly attemptsSeen = new Map<number, number>();
  /** Shards whose result is being (or about to be) written. */
  readonly collecting = new Set<number>();
  /** Workers that drew the shards written by this submission. */
  readonly workers = new Set<string>();
  imagesWritten = 0;
  skipped = 0;
  liveWorkers = 0;
  /** The first failure: the run stops at it. */
  failure: unknown;
  /** Shards are written one at a time, in the order they complete: this is the last write's promise (it never rejects). */
  writing: Promise<void> = Promise.resolve();
  private wakeUp: () => void = () => undefined;

  constructor(
    readonly runId: string,
    readonly shards: readonly ShardSpec[],
    readonly images: number,
    private readonly onProgress?: (p: ShardedProgress) => void,
  ) {}

  /** The BullMQ job id of a shard: fixed by the run and the shard, so a resubmission finds it. */
  jobId(shard: ShardSpec | number): string {
    return `${this.runId}-${typeof shard === 'number' ? shard : shard.index}`;
  }

  /** The index of a pending shard of this run from its job id; undefined for any other job. */
  indexOf(jobId: string): number | undefined {
    if (!jobId.startsWith(`${this.runId}-`)) return undefined;
    const i = Number(jobId.slice(this.runId.length + 1));
    return this.pending.has(i) ? i : undefined;
  }

  /** Every shard written, or a failure. */
  get finished(): boolean {
    return this.pending.size === 0 || this.failure !== undefined;
  }

  report(): void {
    this.onProgress?.({
      images: this.images,
      imagesDone: this.imagesWritten + [...this.inFlight.values()].reduce((a, b) => a + b, 0),
      shards: this.shards.length,
      shardsDone: this.shards.length - this.pending.size,
      workers: this.liveWorkers,
    });
  }

  /** Stops the run at its first failure. */
  fail(e: unknown): void {
    this.failure ??= e;
    this.wake();
  }

  /** A shard's images are written (and acknowledged). */
  written(shard: ShardSpec, worker: string): void {
    this.workers.add(worker);
    this.pending.delete(shard.index);
    this.inFlight.delete(shard.index);
    this.imagesWritten += shard.count;
    this.report();
    this.wake();
  }

  /** Ends the current {@link sleep} now. */
  wake(): void {
    this.wakeUp();
  }

  /** Resolves after `ms`, or at the next {@link wake}. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
