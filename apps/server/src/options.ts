import type { BackendName } from '@farmer/core';
import { FarmerError } from '@farmer/core';
import type { FastifyServerOptions } from 'fastify';
import type { JobInfo, JobSettled } from './job-queue.js';
import { SHUTDOWN_TIMEOUT_MS } from '@farmer/queue';
import type { RuntimeChoice } from '@farmer/runtime';
import { runtimeOpener, type ModelSource, type OpenRunner } from './model-registry.js';

/** Everything `buildApp` takes. Every field is optional; see {@link SERVER_DEFAULTS}. */
export interface ServerOptions {
  /**
   * What to serve: a directory of checkpoint directories (each served under
   * its directory name), a single checkpoint (or training run) directory, or
   * an explicit list. Default: every built-in model present (`builtinModels()`).
   */
  models?: string | readonly ModelSource[];
  /** Opens one checkpoint, giving what it can do (default: @farmer/runtime's openModel with `runtime`, sampler and likelihood). The seam for other runtimes. */
  openRunner?: OpenRunner;
  /** Runtime of every model when `openRunner` is not given (see RUNTIME_CHOICES of @farmer/runtime): 'auto' (default: onnxruntime whenever it loads, exporting on first use; else tfjs), 'onnx' or 'tfjs'. */
  runtime?: RuntimeChoice;
  /** tfjs backend brought up before loading; default: keep the active one, else 'auto'. */
  backend?: BackendName | 'auto';
  /** When set, POST generate/likelihood need `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Jobs that run at once (default 1; see README on why one thread suffices). */
  concurrency?: number;
  /** Jobs that may wait for a slot; more get 429 with Retry-After (default 8). */
  queueSize?: number;
  /** Largest `count` of one generate request (default 16). */
  maxCount?: number;
  /**
   * Images per generation pass (default 16): compatible queued requests
   * (same model and resolved sampler settings) share one pass up to this
   * many images. Does not change the images, only speed and memory.
   */
  batchSize?: number;
  /** How long a generation pass with room waits for more compatible requests, ms (default 5; 0: never). */
  batchWindowMs?: number;
  /** Largest JSON body, bytes (default 64 KiB). */
  maxBodyBytes?: number;
  /** Largest uploaded PNG for likelihood, bytes (default 1 MiB; a base64 JSON upload may be 4/3 of it plus 4 KiB). */
  maxUploadBytes?: number;
  /** Graceful shutdown waits this long for in-flight jobs, then aborts them (default 30 s). */
  shutdownTimeoutMs?: number;
  /**
   * A Redis URL: generate requests run on `farmer worker` processes through
   * each model's Redis queue (@farmer/queue), and `queueSize` bounds that
   * queue. Probed at start: an unreachable Redis is FARMER_E_BACKEND.
   */
  redis?: string;
  /** fastify's logger option (pino): false (default for buildApp), true, or pino options. */
  logger?: FastifyServerOptions['logger'];
  /** Also export prom-client's process metrics (default true). */
  processMetrics?: boolean;
  /** Seams for tests and instrumentation: run inside the job slot, and on every job's end. */
  hooks?: {
    /** Runs inside the job slot before the job starts. */
    beforeJob?: (job: JobInfo, signal: AbortSignal) => Promise<void> | void;
    /** Told of every job's end and outcome. */
    onJobSettled?: (job: JobSettled) => void;
  };
}

/** {@link ServerOptions} with every default filled in. */
export interface ResolvedServerOptions {
  models: string | readonly ModelSource[] | undefined;
  openRunner: OpenRunner;
  backend: BackendName | 'auto' | undefined;
  apiKey: string | undefined;
  concurrency: number;
  queueSize: number;
  maxCount: number;
  batchSize: number;
  batchWindowMs: number;
  maxBodyBytes: number;
  maxUploadBytes: number;
  shutdownTimeoutMs: number;
  redis: string | undefined;
  logger: FastifyServerOptions['logger'];
  processMetrics: boolean;
  hooks: NonNullable<ServerOptions['hooks']>;
}

/**
 * The defaults of the numeric options: what the server fills in (it
 * validates the ranges) and what its command line documents.
 */
export const SERVER_DEFAULTS = Object.freeze({
  concurrency: 1,
  queueSize: 8,
  maxCount: 16,
  batchSize: 16,
  maxBodyBytes: 64 * 1024,
  maxUploadBytes: 1024 * 1024,
  shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
});

/** The command-line flag of each numeric option, for error messages. */
export const OPTION_FLAGS: Readonly<Record<keyof typeof SERVER_DEFAULTS, string>> = Object.freeze({
  concurrency: '--concurrency',
  queueSize: '--queue',
  maxCount: '--max-count',
  batchSize: '--batch-size',
  maxBodyBytes: '--max-body-bytes',
  maxUploadBytes: '--max-upload-bytes',
  shutdownTimeoutMs: '--shutdown-timeout',
});

const MINIMUM: Readonly<Record<keyof typeof SERVER_DEFAULTS, number>> = {
  concurrency: 1,
  queueSize: 0,
  maxCount: 1,
  batchSize: 1,
  maxBodyBytes: 1024,
  maxUploadBytes: 64,
  shutdownTimeoutMs: 0,
};

/** Fills defaults and validates; a bad value is FARMER_E_BAD_CONFIG naming the option and its flag. */
export function resolveServerOptions(o: ServerOptions = {}): ResolvedServerOptions {
  const num = (key: keyof typeof SERVER_DEFAULTS): number => {
    const v = o[key] ?? SERVER_DEFAULTS[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < MINIMUM[key]) {
      throw new FarmerError('FARMER_E_BAD_CONFIG', `server option ${key} (${OPTION_FLAGS[key]}) must be an integer >= ${MINIMUM[key]}, got ${String(v)}`, { field: key });
    }
    return v;
  };
  const batchWindowMs = o.batchWindowMs ?? 5;
  if (typeof batchWindowMs !== 'number' || !Number.isFinite(batchWindowMs) || batchWindowMs < 0) {
    throw new FarmerError('FARMER_E_BAD_CONFIG', `server option batchWindowMs must be a number >= 0, got ${String(batchWindowMs)}`, { field: 'batchWindowMs' });
  }
  if (o.apiKey !== undefined && (typeof o.apiKey !== 'string' || o.apiKey.length < 8)) {
    throw new FarmerError('FARMER_E_BAD_CONFIG', 'the API key (--api-key / FARMER_API_KEY) must be a string of at least 8 characters', { field: 'apiKey' });
  }
  return {
    models: o.models,
    openRunner: o.openRunner ?? runtimeOpener(o.runtime ?? 'auto'),
    backend: o.backend,
    apiKey: o.apiKey,
    concurrency: num('concurrency'),
    queueSize: num('queueSize'),
    maxCount: num('maxCount'),
    batchSize: num('batchSize'),
    batchWindowMs,
    maxBodyBytes: num('maxBodyBytes'),
    maxUploadBytes: num('maxUploadBytes'),
    shutdownTimeoutMs: num('shutdownTimeoutMs'),
    redis: o.redis,
    logger: o.logger ?? false,
    processMetrics: o.processMetrics ?? true,
    hooks: o.hooks ?? {},
  };
}
