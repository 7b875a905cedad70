import { FarmerError } from '@farmer/core';
import type { GenerateRequest, GenerateResult } from '@farmer/sampling';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { QUEUE_PREFIX, type GenerateJobData, type GenerateJobResult } from './job-data.js';
import { waitForAnswer } from './job-answer.js';
import { errorFromReason } from './job-errors.js';
import { checkpointHash, type ModelIdentity } from './model-identity.js';
import { EVENTS_BLOCKING_TIMEOUT_MS, RedisClients } from './redis-clients.js';
import { connectRedis, redisUnreachable, withTimeout, type RedisLink } from './redis-connection.js';
import { watchRedis, type RedisHealth } from './redis-health.js';

/** The queue of a model is full: the caller answers 429 with `retryAfterSeconds`. */
export class QueueFullError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'QueueFullError';
  }
}

/** Options of {@link RemoteGenerator.connect}: the queue length limit and the timeouts. */
export interface RemoteGeneratorOptions {
  /** Requests allowed to wait in a model's queue (across every server sharing it); one more is a {@link QueueFullError}. */
  maxQueued: number;
  /** How long a request waits for a worker's answer before FARMER_E_BACKEND, ms (default 120 s). */
  answerTimeoutMs?: number;
  /** Bound on every other wait for Redis, ms (the probe's timeout). */
  redisTimeoutMs?: number;
}

/** A generate request answered by a worker: its result, and how long it waited and ran. */
export interface RemoteGenerateResult {
  result: GenerateResult;
  waitSeconds: number;
  runSeconds: number;
  /** The worker's pass that drew the images, and how many requests it served. */
  pass: { id: number; requests: number };
  worker: string;
}

/** How long a closing generator waits for BullMQ to close its connections cleanly while Redis answers, ms. */
const CLOSE_WAIT_MS = 1000;

interface ModelQueue {
  queue: Queue;
  events: QueueEvents;
  ready: Promise<unknown>;
}

/**
 * A server's way to the workers: each generate request becomes a job on its
 * model's queue (a worker runs them before the shards of sharded jobs), and
 * the answer comes back through the queue's events. Admission is decided
 * by the queue's length: more than `maxQueued` waiting requests is a
 * {@link QueueFullError} whose Retry-After is the backlog over the live
 * workers at the mean job time. Redis is probed at {@link connect}
 * (FARMER_E_BACKEND within its timeout when unreachable).
 */
export class RemoteGenerator {
  private readonly queues = new Map<string, ModelQueue>();
  private readonly identities = new Map<string, Promise<ModelIdentity>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Exponentially weighted mean time a worker spends on a request, s (for Retry-After). */
  private meanRunSeconds = 1;
  private readonly clients: RedisClients;
  /** Whether Redis answers, seen from a connection of its own (for readiness). */
  readonly health: RedisHealth;
  /** Aborted by {@link close}: the requests still waiting give up. */
  private readonly closing = new AbortController();
  /** Rejects once {@link closing} is aborted. */
  private readonly closedError = new Promise<never>((_, reject) =>
    this.closing.signal.addEventListener('abort', () => reject(new FarmerError('FARMER_E_BACKEND', 'the server is shutting down before a worker answered; retry on another instance')), { once: true }),
  );
  private closed: Promise<void> | undefined;

  private constructor(
    readonly link: RedisLink,
    private readonly options: RemoteGeneratorOptions,
  ) {
    this.clients = new RedisClients(link);
    this.health = watchRedis(this.clients.connection());
    this.closedError.catch(() => undefined); // heard through the races it joins
  }

  /** Connects to Redis at `url` (probed first: an unreachable Redis is FARMER_E_BACKEND within the timeout) and returns the generator. */
  static async connect(url: string, options: RemoteGeneratorOptions): Promise<RemoteGenerator> {
    return new RemoteGenerator(await connectRedis(url, { timeoutMs: options.redisTimeoutMs }), options);
  }

  /** The identity a job for this model carries (its checkpoint hashed once). */
  identity(model: string, dir: string, runtime: string): Promise<ModelIdentity> {
    let id = this.identities.get(model);
    if (!id) {
      id = checkpointHash(dir).then((hash) => ({ model, checkpointHash: hash, runtime }));
      id.catch(() => this.identities.delete(model));
      this.identities.set(model, id);
    }
    return id;
  }

  private modelQueue(model: string): ModelQueue {
    // No new connections once closed: nothing would end them.
    if (this.closing.signal.aborted) throw new FarmerError('FARMER_E_BACKEND', 'the server is shutting down; retry on another instance');
    let q = this.queues.get(model);
    if (!q) {
      const queue = new Queue(model, { connection: this.clients.connection(), prefix: QUEUE_PREFIX });
      const events = new QueueEvents(model, { connection: this.clients.connection(), prefix: QUEUE_PREFIX, blockingTimeout: EVENTS_BLOCKING_TIMEOUT_MS });
      queue.on('error', () => undefined);
      events.on('error', () => undefined);
      q = { queue, events, ready: Promise.all([queue.waitUntilReady(), events.waitUntilReady()]) };
      this.queues.set(model, q);
    }
    return q;
  }

  /** `p`, or FARMER_E_BACKEND once Redis has not answered within the link's timeout, or at once when the generator closes. */
  private bounded<T>(p: Promise<T>, what: string): Promise<T> {
    return withTimeout(Promise.race([p, this.closedError]), this.link.timeoutMs, () => redisUnreachable(this.link.url, `no answer while ${what}`, this.link.timeoutMs));
  }

  /** Requests waiting in the model's queue, and the workers listening to it (for /metrics). */
  async depth(model: string): Promise<{ waiting: number; workers: number }> {
    const { queue, ready } = this.modelQueue(model);
    await this.bounded(ready, 'connecting');
    const [waiting, workers] = await this.bounded(Promise.all([queue.getWaitingCount(), queue.getWorkersCount()]), 'reading the queue');
    return { waiting, workers };
  }

  /**
   * Runs one generate request on a worker. Rejects with QueueFullError,
   * FARMER_E_ABORTED (the signal fired; a request no worker took yet is
   * removed), the worker's error (its FarmerError code kept), or
   * FARMER_E_BACKEND (Redis gone, no answer within `answerTimeoutMs`, or
   * the generator closed first).
   */
  generate(identity: ModelIdentity, request: GenerateRequest, capacity: number, signal?: AbortSignal): Promise<RemoteGenerateResult> {
    const run = this.run(identity, request, capacity, signal);
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run)).catch(() => undefined);
    return run;
  }

  private async run(identity: ModelIdentity, request: GenerateRequest, capacity: number, signal?: AbortSignal): Promise<RemoteGenerateResult> {
    const { queue, events, ready } = this.modelQueue(identity.model);
    await this.bounded(ready, 'connecting');
    const { waiting, workers } = await this.depth(identity.model);
    if (waiting >= this.options.maxQueued) {
      const retry = Math.min(300, Math.max(1, Math.ceil((this.meanRunSeconds * (waiting + 1)) / Math.max(1, workers))));
      throw new QueueFullError(`the queue of model '${identity.model}' is full: ${waiting} requests wait for ${workers} worker(s) (limit --queue ${this.options.maxQueued}); retry after ${retry} s`, retry);
    }
    const data: GenerateJobData = { kind: 'generate', identity, request, capacity };
    const job = await this.bounded(queue.add('generate', data, { attempts: 3, backoff: { type: 'fixed', delay: 500 }, removeOnComplete: { age: 300 }, removeOnFail: { age: 3600 } }), 'queueing the request');
    const timeoutMs = this.options.answerTimeoutMs ?? 120_000;
    // The answer, or the first of: the client gone, the generator closing, no answer in time. Every timer and listener goes in `finally`.
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const givenUp = new Promise<never>((_, reject) => {
      onAbort = () => {
        void job.remove().catch(() => undefined); // only possible while no worker holds it
        reject(new FarmerError('FARMER_E_ABORTED', 'the client went away'));
      };
      timer = setTimeout(
        () => reject(new FarmerError('FARMER_E_BACKEND', `no worker answered within ${timeoutMs / 1000} s (${workers} worker(s) on the queue of model '${identity.model}'); start one with farmer worker --redis URL`)),
        timeoutMs,
      );
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    const stopWaiting = new AbortController();
    let value: GenerateJobResult;
    try {
      value = (await Promise.race([waitForAnswer(queue, events, job.id!, stopWaiting.signal), givenUp, this.closedError])) as GenerateJobResult;
    } catch (e) {
      if (e instanceof FarmerError) throw e;
      throw errorFromReason('the worker failed', e instanceof Error ? e.message : String(e));
    } finally {
      stopWaiting.abort();
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
    const done: Job | undefined = await this.bounded(queue.getJob(job.id!), 'reading the answer');
    const started = done?.processedOn ?? job.timestamp;
    const finished = done?.finishedOn ?? Date.now();
    const runSeconds = Math.max(0, finished - started) / 1000;
    this.meanRunSeconds = 0.8 * this.meanRunSeconds + 0.2 * runSeconds;
    void done?.remove().catch(() => undefined);
    const bytes = Buffer.from(value.images.data, 'base64');
    const result: GenerateResult = {
      images: { ...value.images, data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
      labels: Int32Array.from(value.labels),
      parameters: value.parameters,
      timings: value.timings,
      runtime: value.runtime,
      redrawn: value.redrawn ?? [],
    };
    return { result, waitSeconds: Math.max(0, started - job.timestamp) / 1000, runSeconds, pass: value.pass, worker: value.worker };
  }

  /** Requests waiting for a worker's answer now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Resolves once the requests under way have settled, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<void> {
    await withTimeout(Promise.allSettled([...this.inFlight]), timeoutMs, () => new Error('timeout')).catch(() => undefined);
  }

  /**
   * Waits (up to `timeoutMs`) for the requests under way; the ones still
   * waiting then fail with FARMER_E_BACKEND (their jobs stay in Redis,
   * where a worker may still run them), and every connection ends, Redis
   * or not: within `timeoutMs` plus a second at most, leaving nothing open.
   * Idempotent.
   */
  close(timeoutMs = 30_000): Promise<void> {
    return (this.closed ??= this.shutDown(timeoutMs));
  }

  private async shutDown(timeoutMs: number): Promise<void> {
    await this.idle(timeoutMs);
    this.closing.abort();
    const closing = [...this.queues.values()].flatMap((q) => [q.events.close(), q.queue.close()]);
    this.queues.clear();
    await this.clients.close(closing, this.health.up ? CLOSE_WAIT_MS : 0);
  }
}
