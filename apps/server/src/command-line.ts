import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKEND_NAMES, type BackendName } from '@farmer/core';
import { RUNTIME_CHOICES, type RuntimeChoice } from '@farmer/runtime';
import { SERVER_DEFAULTS } from './options.js';

/** pino's levels, as `--log-level` takes them. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The server options a command line gives (plain data; `startServer` takes them as they are). */
export interface ServerCliOptions {
  models?: string;
  port: number;
  host: string;
  apiKey?: string;
  concurrency: number;
  queueSize: number;
  maxCount: number;
  batchSize: number;
  maxBodyBytes: number;
  maxUploadBytes: number;
  shutdownTimeoutMs: number;
  backend?: BackendName | 'auto';
  runtime: RuntimeChoice;
  /** Redis URL: generate requests go to `farmer worker` processes (see @farmer/queue). */
  redis?: string;
  /** pino's logger option. */
  logger: { level: string };
}

/** A whole number ≥ 0 (ports, counts, bytes, seconds); the ranges are checked by the server. */
function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('It must be a non-negative integer.');
  return Number(value);
}

/** The interface the server binds by default: loopback only. */
const DEFAULT_HOST = '127.0.0.1';

/** One of `choices`; an empty value (an environment variable set to '') is `fallback`. */
function oneOf<T extends string>(choices: readonly T[], fallback?: T) {
  return (value: string): T | undefined => {
    if (value === '' && fallback !== undefined) return fallback;
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    return value as T;
  };
}

/** A flag that takes a whole number, with its default. */
function countOption(flags: string, description: string, value: number): Option {
  return new Option(flags, description).argParser(wholeNumber).default(value);
}

/**
 * The server's command line as a commander Command, the one parser of the
 * server's bin (`farmer-server`) and of `farmer serve` (which adds it as
 * its subcommand): every flag with its default and, where it has one, its
 * environment variable (an empty one counts as unset). Read the parsed values
 * with {@link serverCliOptions}; ranges are checked by the server.
 */
export function serverCommand(name = 'farmer-server'): Command {
  return new Command(name)
    .description('Serves FARMER checkpoints over HTTP (generate, likelihood, classify, metrics; API docs at /docs, the playground page at /playground/ once running).')
    .showHelpAfterError('(run with --help for usage)')
    .addOption(
      new Option('--models <dir>', 'a directory of checkpoint directories (one model each, named after its directory), or one checkpoint; default: the installed built-in models (FARMER_MODELS_DIR overrides)')
        .env('FARMER_MODELS'),
    )
    .addOption(new Option('--port <n>', 'TCP port, 0 for any free one').env('PORT').argParser(wholeNumber).default(8080))
    .addOption(new Option('--host <host>', 'interface to bind; beyond loopback without --api-key, a warning is printed').env('FARMER_HOST').default(DEFAULT_HOST))
    .addOption(new Option('--api-key <key>', 'require "Authorization: Bearer KEY" on generate, likelihood, classify and the ONNX export files').env('FARMER_API_KEY'))
    .addOption(countOption('--concurrency <n>', 'jobs running at once', SERVER_DEFAULTS.concurrency))
    .addOption(countOption('--queue <n>', 'requests waiting at most; more get 429', SERVER_DEFAULTS.queueSize))
    .addOption(countOption('--max-count <n>', 'largest count per generate request', SERVER_DEFAULTS.maxCount))
    .addOption(countOption('--batch-size <n>', 'images per generation pass; compatible queued requests share one up to this many images', SERVER_DEFAULTS.batchSize))
    .addOption(countOption('--max-body-bytes <n>', 'largest JSON body', SERVER_DEFAULTS.maxBodyBytes))
    .addOption(countOption('--max-upload-bytes <n>', 'largest PNG upload for likelihood and classify', SERVER_DEFAULTS.maxUploadBytes))
    .addOption(countOption('--shutdown-timeout <s>', 'seconds to let in-flight jobs finish on SIGTERM', SERVER_DEFAULTS.shutdownTimeoutMs / 1000))
    .addOption(
      new Option('--redis <url>', 'generate on `farmer worker` processes through Redis (redis://[:PASSWORD@]HOST[:PORT][/DB]) instead of in this process; --queue then bounds the model\'s Redis queue')
        .env('FARMER_REDIS'),
    )
    .addOption(
      new Option('--runtime <name>', 'auto (onnxruntime whenever onnxruntime-node loads, exporting a checkpoint on first use; else tfjs), onnx (existing exports only) or tfjs')
        .choices(RUNTIME_CHOICES)
        .argParser(oneOf(RUNTIME_CHOICES, 'auto'))
        .env('FARMER_RUNTIME')
        .default('auto'),
    )
    .addOption(new Option('--backend <name>', 'tfjs backend (default auto)').choices(['auto', ...BACKEND_NAMES]).argParser(oneOf(['auto', ...BACKEND_NAMES])).env('FARMER_BACKEND'))
    .addOption(new Option('--log-level <level>', 'pino log level').choices(LOG_LEVELS).argParser(oneOf(LOG_LEVELS)).env('FARMER_LOG_LEVEL').default('info'));
}

/** The server options of a {@link serverCommand} that has parsed its command line. */
export function serverCliOptions(cmd: Command): ServerCliOptions {
  const o = cmd.opts<{
    models?: string;
    port: number;
    host: string;
    apiKey?: string;
    concurrency: number;
    queue: number;
    maxCount: number;
    batchSize: number;
    maxBodyBytes: number;
    maxUploadBytes: number;
    shutdownTimeout: number;
    redis?: string;
    runtime: RuntimeChoice;
    backend?: BackendName | 'auto';
    logLevel: string;
  }>();
  // An environment variable set to '' counts as not given.
  return {
    models: o.models || undefined,
    port: o.port,
    host: o.host || DEFAULT_HOST,
    apiKey: o.apiKey || undefined,
    concurrency: o.concurrency,
    queueSize: o.queue,
    maxCount: o.maxCount,
    batchSize: o.batchSize,
    maxBodyBytes: o.maxBodyBytes,
    maxUploadBytes: o.maxUploadBytes,
    shutdownTimeoutMs: o.shutdownTimeout * 1000,
    backend: o.backend,
    runtime: o.runtime,
    redis: o.redis || undefined,
    logger: { level: o.logLevel },
  };
}
