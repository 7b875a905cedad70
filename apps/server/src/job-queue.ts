import { FarmerError, isFarmerError } from '@farmer/core';
import { HttpError } from './errors.js';

/** What the server asks the queue to run. */
export type JobKind = 'generate' | 'likelihood';

/** A job as hooks and logs see it. */
export interface JobInfo {
  readonly id: number;
  readonly kind: JobKind;
  readonly model: string;
}

/**
 * How a job ended: `done`, `failed` (threw), `aborted` (cancelled while
 * running), or `dropped` (cancelled while still waiting; never started).
 */
export type JobOutcome = 'done' | 'failed' | 'aborted' | 'dropped';

export interface JobSettled extends JobInfo {
  readonly outcome: JobOutcome;
  readonly waitSeconds: number;
  readonly runSeconds: number;
  readonly error?: unknown;
}

export interface JobQueueOptions {
  /** Jobs running at once (interleaved at token granularity on one thread). */
  concurrency: number;
  /** Jobs allowed to wait; one more is refused with FARMER_E_BUSY (429). */
  maxQueued: number;
  /**
   * Awaited inside the running slot before the task starts. A seam for tests
   * (hold jobs to make backpressure deterministic) and for instrumentation.
   */
  beforeJob?: (job: JobInfo, signal: AbortSignal) => Promise<void> | void;
  /** Called once per job with its outcome (metrics, logs, tests). */
  onSettled?: (job: JobSettled) => void;
  /** Called when a job is refused because the queue is full. */
  onRejected?: (job: { kind: JobKind; model: string }) => void;
}

/** The result of a job with the time it waited and ran. */
export interface JobResult<T> {
  value: T;
  waitSeconds: number;
  runSeconds: number;
}

function shutDownError(): HttpError {
  return new HttpError('FARMER_E_UNAVAILABLE', 'the server shut down before this job could finish; retry on another instance', { headers: { 'retry-after': '1' } });
}

interface Waiter {
  info: JobInfo;
  start: () => void;
  drop: () => void;
}

/**
 * A bounded FIFO job queue with fixed concurrency. Admission is decided
 * synchronously when `run` is called: a free slot starts the job, else a free
 * queue place holds it, else the call fails at once with FARMER_E_BUSY and a
 * Retry-After estimate. A job whose signal fires while waiting is dropped
 * (its place freed, never started); while running, the task sees the abort
 * through the signal it is given, which also fires on {@link abortAll}.
 */
export class JobQueue {
  private readonly waiting: Waiter[] = [];
  private active = 0;
  private nextId = 1;
  private readonly shutdown = new AbortController();
  private idleWaiters: (() => void)[] = [];
  /** Exponentially weighted mean run time, seconds (for Retry-After). */
  private meanRunSeconds = 1;

  constructor(private readonly options: JobQueueOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError(`JobQueue: concurrency must be an integer >= 1, got ${options.concurrency}`);
    if (!Number.isInteger(options.maxQueued) || options.maxQueued < 0) throw new RangeError(`JobQueue: maxQueued must be an integer >= 0, got ${options.maxQueued}`);
  }

  /** Jobs running now. */
  get running(): number {
    return this.active;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Seconds a refused client should wait: the backlog over the concurrency, at the mean job time (1..300). */
  retryAfterSeconds(): number {
    const backlog = this.active + this.waiting.length + 1;
    return Math.min(300, Math.max(1, Math.ceil((this.meanRunSeconds * backlog) / this.options.concurrency)));
  }

  /**
   * Runs `task` when a slot is free. `signal` is the client's: aborting it
   * drops a waiting job, or aborts the signal handed to a running task.
   * Rejects with FARMER_E_BUSY (queue full), FARMER_E_ABORTED (dropped) or
   * whatever the task throws.
   */
  run<T>(job: { kind: JobKind; model: string }, task: (signal: AbortSignal, job: JobInfo) => Promise<T>, signal: AbortSignal): Promise<JobResult<T>> {
    const info: JobInfo = { id: this.nextId++, kind: job.kind, model: job.model };
    const queuedAt = performance.now();
    const settle = (outcome: JobOutcome, startedAt: number, error?: unknown): void => {
      const end = performance.now();
      try {
        this.options.onSettled?.({ ...info, outcome, waitSeconds: (startedAt - queuedAt) / 1000, runSeconds: (end - startedAt) / 1000, error });
      } catch {
        // A throwing observer must not wedge the queue or crash the process.
      }
    };
    if (signal.aborted) {
      settle('dropped', queuedAt);
      return Promise.reject(new FarmerError('FARMER_E_ABORTED', 'the client went away before the job was queued'));
    }
    if (this.shutdown.signal.aborted) return Promise.reject(shutDownError());
    if (this.active >= this.options.concurrency && this.waiting.length >= this.options.maxQueued) {
      const retry = this.retryAfterSeconds();
      this.options.onRejected?.(job);
      return Promise.reject(
        new HttpError(
          'FARMER_E_BUSY',
          `the server is busy: ${this.active} jobs running and ${this.waiting.length} queued (limits --concurrency ${this.options.concurrency}, --queue ${this.options.maxQueued}); retry after ${retry} s`,
          { headers: { 'retry-after': String(retry) } },
        ),
      );
    }
    return new Promise<JobResult<T>>((resolve, reject) => {
      const start = (): void => {
        this.active++;
        const startedAt = performance.now();
        const jobSignal = AbortSignal.any([signal, this.shutdown.signal]);
        const body = async (): Promise<T> => {
          await this.options.beforeJob?.(info, jobSignal);
          if (jobSignal.aborted) throw new FarmerError('FARMER_E_ABORTED', 'the job was cancelled before it started');
          return task(jobSignal, info);
        };
        body().then(
          (value) => {
            const runSeconds = (performance.now() - startedAt) / 1000;
            this.meanRunSeconds = 0.8 * this.meanRunSeconds + 0.2 * runSeconds;
            this.release();
            settle('done', startedAt);
            resolve({ value, waitSeconds: (startedAt - queuedAt) / 1000, runSeconds });
          },
          (error: unknown) => {
            this.release();
            settle(jobSignal.aborted || isFarmerError(error, 'FARMER_E_ABORTED') ? 'aborted' : 'failed', startedAt, error);
            // Cut short by shutdown while the client still waits: tell it to retry elsewhere.
            if (this.shutdown.signal.aborted && !signal.aborted) reject(shutDownError());
            else reject(error);
          },
        );
      };
      if (this.active < this.options.concurrency) {
        start();
        return;
      }
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter);
        if (i < 0) return;
        this.waiting.splice(i, 1);
        signal.removeEventListener('abort', onAbort);
        settle('dropped', performance.now());
        reject(this.shutdown.signal.aborted && !signal.aborted ? shutDownError() : new FarmerError('FARMER_E_ABORTED', 'the job was cancelled while queued'));
        this.checkIdle();
      };
      const waiter: Waiter = {
        info,
        start: () => {
          signal.removeEventListener('abort', onAbort);
          start();
        },
        drop: onAbort,
      };
      this.waiting.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Shutdown's last resort: refuses new jobs (FARMER_E_UNAVAILABLE), drops
   * every waiting job and aborts the running ones.
   */
  abortAll(): void {
    this.shutdown.abort(new FarmerError('FARMER_E_ABORTED', 'the server is shutting down'));
    for (const w of [...this.waiting]) w.drop();
  }

  /** A job left its slot: start the next waiting ones. */
  private release(): void {
    this.active--;
    this.pump();
  }

  private pump(): void {
    while (this.active < this.options.concurrency && this.waiting.length > 0) this.waiting.shift()!.start();
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.active === 0 && this.waiting.length === 0 && this.idleWaiters.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
