import { FarmerError, isFarmerError } from '@farmer/core';
import { HttpError } from './errors.js';

/** What the server asks the queue to run. */
export type JobKind = 'generate' | 'likelihood' | 'classify';

/** A request as hooks and logs see it. */
export interface JobInfo {
  readonly id: number;
  readonly kind: JobKind;
  readonly model: string;
}

/**
 * How a request ended: `done`, `failed` (its job threw), `aborted`
 * (cancelled while its job ran), or `dropped` (cancelled while still
 * waiting; never started).
 */
export type JobOutcome = 'done' | 'failed' | 'aborted' | 'dropped';

/** The job that served a request: its id, shared by every request it served, and how many it served. */
export interface JobBatch {
  readonly id: number;
  readonly requests: number;
}

export interface JobSettled extends JobInfo {
  readonly outcome: JobOutcome;
  readonly waitSeconds: number;
  readonly runSeconds: number;
  /** The job that ran the request (absent when it was dropped before one started). */
  readonly batch?: JobBatch;
  readonly error?: unknown;
}

/** Options of {@link JobQueue}: running jobs, waiting requests, batching. */
export interface JobQueueOptions {
  /** Jobs running at once (interleaved at token granularity on one thread). */
  concurrency: number;
  /** Requests allowed to wait; one more is refused with FARMER_E_BUSY (429). */
  maxQueued: number;
  /**
   * How long a batchable job that still has room waits for more compatible
   * requests before it starts, ms (default 5; 0: never waits).
   */
  batchWindowMs?: number;
  /**
   * Awaited once per job inside its slot, before it runs, with the first
   * request's info. A seam for tests (hold jobs to make backpressure
   * deterministic) and for instrumentation.
   */
  beforeJob?: (job: JobInfo, signal: AbortSignal) => Promise<void> | void;
  /** Called once per request with its outcome (metrics, logs, tests). */
  onSettled?: (job: JobSettled) => void;
  /** Called when a request is refused because the queue is full. */
  onRejected?: (job: { kind: JobKind; model: string }) => void;
  /** Called when a job starts, with the number of requests it serves. */
  onJobStarted?: (requests: number) => void;
}

/** A request, and whether (and how) it may share a job with others. */
export interface JobRequest {
  kind: JobKind;
  model: string;
  /**
   * Requests of the same kind and model with equal `key` may run as one job,
   * of at most `capacity` in total `size` (e.g. images per pass).
   */
  batch?: { key: string; size: number; capacity: number };
}

/** One request of a job: its input, and its client's signal. */
export interface JobMember<I> {
  readonly input: I;
  readonly signal: AbortSignal;
  readonly info: JobInfo;
}

/**
 * Runs one job; result i answers `members[i]`. `signal` fires when every
 * member's client has gone, or at shutdown; a member's own signal says
 * whether its client is still there.
 */
export type JobExec<I, O> = (members: readonly JobMember<I>[], signal: AbortSignal) => Promise<O[]>;

/** The result of a request with the time it waited and its job ran. */
export interface JobResult<T> {
  value: T;
  waitSeconds: number;
  runSeconds: number;
  batch: JobBatch;
}

function shutDownError(): HttpError {
  return new HttpError('FARMER_E_UNAVAILABLE', 'the server shut down before this job could finish; retry on another instance', { headers: { 'retry-after': '1' } });
}

/** A request from admission until its job settles. */
interface Pending {
  readonly info: JobInfo;
  readonly key?: string;
  readonly size: number;
  readonly capacity: number;
  readonly input: unknown;
  readonly exec: JobExec<unknown, unknown>;
  readonly signal: AbortSignal;
  readonly queuedAt: number;
  readonly resolve: (r: JobResult<unknown>) => void;
  readonly reject: (e: unknown) => void;
  /** Drops the request while it waits (queued, or in a job not yet started). */
  drop?: () => void;
}

/** A job that holds a slot and may still take compatible requests until its window closes. */
interface FormingJob {
  readonly key?: string;
  readonly members: Pending[];
  size: number;
  timer?: NodeJS.Timeout;
}

/**
 * A bounded FIFO job queue with fixed concurrency and batching before
 * admission. Admission is decided synchronously when a request arrives: it
 * joins a compatible job that has not started yet (same kind, model and
 * batch key, with room), else takes a free slot, else a free queue place,
 * else fails at once with FARMER_E_BUSY and a Retry-After estimate. The
 * queue counts requests. When a slot frees, the first waiting request and
 * the compatible ones behind it form one job; a job with room waits up to
 * `batchWindowMs` for more. A request whose signal fires while it waits is
 * dropped (never started); a running job sees an abort through its signal
 * once all its clients have gone, or on {@link abortAll}.
 */
export class JobQueue {
  private readonly waiting: Pending[] = [];
  private readonly forming = new Map<string, FormingJob>();
  private active = 0;
  private nextId = 1;
  private nextJobId = 1;
  private readonly shutdown = new AbortController();
  private idleWaiters: (() => void)[] = [];
  /** Exponentially weighted mean run time of a job, seconds (for Retry-After). */
  private meanRunSeconds = 1;

  constructor(private readonly options: JobQueueOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError(`JobQueue: concurrency must be an integer >= 1, got ${options.concurrency}`);
    if (!Number.isInteger(options.maxQueued) || options.maxQueued < 0) throw new RangeError(`JobQueue: maxQueued must be an integer >= 0, got ${options.maxQueued}`);
  }

  /** Jobs holding a slot now (running, or about to start). */
  get running(): number {
    return this.active;
  }

  /** Requests waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Seconds a refused client should wait: the backlog over the concurrency, at the mean job time (1..300). */
  retryAfterSeconds(): number {
    const backlog = this.active + this.waiting.length + 1;
    return Math.min(300, Math.max(1, Math.ceil((this.meanRunSeconds * backlog) / this.options.concurrency)));
  }

  /**
   * Runs `task` as a job of its own when a slot is free. `signal` is the
   * client's: aborting it drops a waiting job, or aborts the signal handed
   * to a running task. Rejects with FARMER_E_BUSY (queue full),
   * FARMER_E_ABORTED (dropped) or whatever the task throws.
   */
  run<T>(job: { kind: JobKind; model: string }, task: (signal: AbortSignal, job: JobInfo) => Promise<T>, signal: AbortSignal): Promise<JobResult<T>> {
    return this.submit<undefined, T>({ kind: job.kind, model: job.model }, undefined, async ([m], s) => [await task(s, m.info)], signal);
  }

  /**
   * Admits a request that may share its job with compatible ones (see
   * {@link JobRequest.batch}); `exec` runs the whole job (the first
   * member's exec serves them all, so equal keys must mean equal execs).
   * Rejects as {@link run} does.
   */
  submit<I, O>(request: JobRequest, input: I, exec: JobExec<I, O>, signal: AbortSignal): Promise<JobResult<O>> {
    const info: JobInfo = { id: this.nextId++, kind: request.kind, model: request.model };
    const queuedAt = performance.now();
    if (signal.aborted) {
      this.settle(info, 'dropped', queuedAt, queuedAt);
      return Promise.reject(new FarmerError('FARMER_E_ABORTED', 'the client went away before the job was queued'));
    }
    if (this.shutdown.signal.aborted) return Promise.reject(shutDownError());
    return new Promise<JobResult<O>>((resolve, reject) => {
      const b = request.batch;
      const p: Pending = {
        info,
        key: b ? `${request.kind}\u0000${request.model}\u0000${b.key}` : undefined,
        size: b?.size ?? 1,
        capacity: b?.capacity ?? 1,
        input,
        exec: exec as JobExec<unknown, unknown>,
        signal,
        queuedAt,
        resolve: resolve as (r: JobResult<unknown>) => void,
        reject,
      };
      const joinable = p.key !== undefined ? this.forming.get(p.key) : undefined;
      if (joinable && joinable.size + p.size <= p.capacity) this.join(joinable, p);
      else if (this.active < this.options.concurrency) this.form([p]);
      else if (this.waiting.length < this.options.maxQueued) this.enqueue(p);
      else {
        const retry = this.retryAfterSeconds();
        this.options.onRejected?.({ kind: request.kind, model: request.model });
        reject(
          new HttpError(
            'FARMER_E_BUSY',
            `the server is busy: ${this.active} jobs running and ${this.waiting.length} queued (limits --concurrency ${this.options.concurrency}, --queue ${this.options.maxQueued}); retry after ${retry} s`,
            { headers: { 'retry-after': String(retry) } },
          ),
        );
      }
    });
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Shutdown's last resort: refuses new requests (FARMER_E_UNAVAILABLE),
   * drops every waiting one (queued, or in a job not yet started) and
   * aborts the running jobs.
   */
  abortAll(): void {
    this.shutdown.abort(new FarmerError('FARMER_E_ABORTED', 'the server is shutting down'));
    // The queue first, so that slots freed by emptied jobs start nothing new.
    for (const w of [...this.waiting]) w.drop?.();
    for (const f of [...this.forming.values()]) for (const m of [...f.members]) m.drop?.();
  }

  private settle(info: JobInfo, outcome: JobOutcome, queuedAt: number, startedAt: number, extra: { batch?: JobBatch; error?: unknown } = {}): void {
    const end = performance.now();
    try {
      this.options.onSettled?.({ ...info, outcome, waitSeconds: (startedAt - queuedAt) / 1000, runSeconds: (end - startedAt) / 1000, ...extra });
    } catch {
      // A throwing observer must not wedge the queue or crash the process.
    }
  }

  /** Makes `p` droppable while it waits: `remove` takes it out of where it waits. */
  private onWaitAbort(p: Pending, remove: () => boolean): void {
    const drop = (): void => {
      if (!remove()) return;
      p.signal.removeEventListener('abort', drop);
      p.drop = undefined;
      this.settle(p.info, 'dropped', p.queuedAt, performance.now());
      p.reject(this.shutdown.signal.aborted && !p.signal.aborted ? shutDownError() : new FarmerError('FARMER_E_ABORTED', 'the job was cancelled while queued'));
      this.checkIdle();
    };
    p.drop = drop;
    p.signal.addEventListener('abort', drop, { once: true });
  }

  private stopWaiting(p: Pending): void {
    if (p.drop) p.signal.removeEventListener('abort', p.drop);
    p.drop = undefined;
  }

  private enqueue(p: Pending): void {
    this.waiting.push(p);
    this.onWaitAbort(p, () => {
      const i = this.waiting.indexOf(p);
      if (i >= 0) this.waiting.splice(i, 1);
      return i >= 0;
    });
  }

  /** Takes a slot for a job of `members` (already out of the queue); it starts now when full or unbatchable, else after the window. */
  private form(members: Pending[]): void {
    this.active++;
    const head = members[0];
    const job: FormingJob = { key: head.key, members: [], size: 0 };
    for (const m of members) this.join(job, m, false);
    const window = this.options.batchWindowMs ?? 5;
    if (job.key === undefined || job.size >= head.capacity || window <= 0) {
      this.start(job);
      return;
    }
    this.forming.set(job.key, job);
    job.timer = setTimeout(() => this.start(job), window);
  }

  /** Adds `p` to a job that has not started; starts it once full. */
  private join(job: FormingJob, p: Pending, startWhenFull = true): void {
    this.stopWaiting(p);
    job.members.push(p);
    job.size += p.size;
    this.onWaitAbort(p, () => {
      const i = job.members.indexOf(p);
      if (i < 0) return false;
      job.members.splice(i, 1);
      job.size -= p.size;
      if (!job.members.length) {
        // Nobody is left: the job gives its slot back without running.
        clearTimeout(job.timer);
        if (job.key !== undefined && this.forming.get(job.key) === job) this.forming.delete(job.key);
        this.release();
      }
      return true;
    });
    if (startWhenFull && job.size >= p.capacity) this.start(job);
  }

  private start(job: FormingJob): void {
    clearTimeout(job.timer);
    if (job.key !== undefined && this.forming.get(job.key) === job) this.forming.delete(job.key);
    const members = [...job.members];
    for (const m of members) this.stopWaiting(m);
    const batch: JobBatch = { id: this.nextJobId++, requests: members.length };
    const startedAt = performance.now();
    this.options.onJobStarted?.(members.length);
    // The job stops only when every one of its clients has gone (or at shutdown).
    const allGone = new AbortController();
    let left = members.length;
    for (const m of members) {
      if (m.signal.aborted) left--;
      else m.signal.addEventListener('abort', () => --left === 0 && allGone.abort(new FarmerError('FARMER_E_ABORTED', 'every client of this job went away')), { once: true });
    }
    if (left === 0) allGone.abort();
    const jobSignal = AbortSignal.any([allGone.signal, this.shutdown.signal]);
    const body = async (): Promise<unknown[]> => {
      await this.options.beforeJob?.(members[0].info, jobSignal);
      if (jobSignal.aborted) throw new FarmerError('FARMER_E_ABORTED', 'the job was cancelled before it started');
      const results = await members[0].exec(
        members.map((m) => ({ input: m.input, signal: m.signal, info: m.info })),
        jobSignal,
      );
      if (results.length !== members.length) throw new FarmerError('FARMER_E_INTERNAL', `a job of ${members.length} requests returned ${results.length} results`);
      return results;
    };
    body().then(
      (results) => {
        const runSeconds = (performance.now() - startedAt) / 1000;
        this.meanRunSeconds = 0.8 * this.meanRunSeconds + 0.2 * runSeconds;
        this.release();
        members.forEach((m, i) => {
          const waitSeconds = (startedAt - m.queuedAt) / 1000;
          if (m.signal.aborted) {
            this.settle(m.info, 'aborted', m.queuedAt, startedAt, { batch });
            m.reject(new FarmerError('FARMER_E_ABORTED', 'the job was cancelled'));
          } else {
            this.settle(m.info, 'done', m.queuedAt, startedAt, { batch });
            m.resolve({ value: results[i], waitSeconds, runSeconds, batch });
          }
        });
      },
      (error: unknown) => {
        this.release();
        for (const m of members) {
          const aborted = m.signal.aborted || jobSignal.aborted || isFarmerError(error, 'FARMER_E_ABORTED');
          this.settle(m.info, aborted ? 'aborted' : 'failed', m.queuedAt, startedAt, { batch, error });
          // Cut short by shutdown while the client still waits: tell it to retry elsewhere.
          if (this.shutdown.signal.aborted && !m.signal.aborted) m.reject(shutDownError());
          else m.reject(m.signal.aborted && !isFarmerError(error, 'FARMER_E_ABORTED') ? new FarmerError('FARMER_E_ABORTED', 'the job was cancelled') : error);
        }
      },
    );
  }

  /** A job gave its slot back: the waiting requests form the next jobs. */
  private release(): void {
    this.active--;
    this.pump();
  }

  private pump(): void {
    while (this.active < this.options.concurrency && this.waiting.length > 0) {
      const head = this.waiting.shift()!;
      const members = [head];
      if (head.key !== undefined) {
        let size = head.size;
        for (let i = 0; i < this.waiting.length && size < head.capacity; ) {
          const w = this.waiting[i];
          if (w.key === head.key && size + w.size <= head.capacity) {
            members.push(w);
            size += w.size;
            this.waiting.splice(i, 1);
          } else i++;
        }
      }
      this.form(members);
    }
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
