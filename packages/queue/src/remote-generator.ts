import { FarmerError } from '@farmer/core';
import type { GenerateRequest, GenerateResult } from '@farmer/sampling';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { QUEUE_PREFIX, type GenerateJobData, type GenerateJobResult } from './job-data.js';
import { errorFromReason } from './job-errors.js';
import { checkpointHash, type ModelIdentity } from './model-identity.js';
import { connectRedis, redisUnreachable, withTimeout, type RedisLink } from './redis-connection.js';

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

  private constructor(
    readonly link: RedisLink,
    private readonly options: RemoteGeneratorOptions,
  ) {}

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
    let q = this.queues.get(model);
    if (!q) {
      const connection = this.link.bullConnection();
      const queue = new Queue(model, { connection, prefix: QUEUE_PREFIX });
      const events = new QueueEvents(model, { connection, prefix: QUEUE_PREFIX });
      queue.on('error', () => undefined);
      events.on('error', () => undefined);
      q = { queue, events, ready: Promise.all([queue.waitUntilReady(), events.waitUntilReady()]) };
      this.queues.set(model, q);
    }
    return q;
  }

  private bounded<T>(p: Promise<T>, what: string): Promise<T> {
    return withTimeout(p, this.link.timeoutMs, () => redisUnreachable(this.link.url, `no answer while ${what}`, this.link.timeoutMs));
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
   * FARMER_E_BACKEND (Redis gone, or no answer within `answerTimeoutMs`).
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
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        void job.remove().catch(() => undefined); // only possible while no worker holds it
        reject(new FarmerError('FARMER_E_ABORTED', 'the client went away'));
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    let value: GenerateJobResult;
    try {
      value = (await Promise.race([job.waitUntilFinished(events, timeoutMs), aborted])) as GenerateJobResult;
    } catch (e) {
      if (e instanceof FarmerError) throw e;
      const message = e instanceof Error ? e.message : String(e);
      if (/timed out/i.test(message)) {
        throw new FarmerError('FARMER_E_BACKEND', `no worker answered within ${timeoutMs / 1000} s (${workers} worker(s) on the queue of model '${identity.model}'); start one with farmer worker --redis URL`);
      }
      throw errorFromReason('the worker failed', message);
    } finally {
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

  /** Waits (up to `timeoutMs`) for the requests under way, then closes every connection. */
  async close(timeoutMs = 30_000): Promise<void> {
    await this.idle(timeoutMs);
    await Promise.allSettled([...this.queues.values()].flatMap((q) => [withTimeout(q.events.close(), 1000, () => new Error('close')), withTimeout(q.queue.close(), 1000, () => new Error('close'))]));
    this.queues.clear();
  }
}
