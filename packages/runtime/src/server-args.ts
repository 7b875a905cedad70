import { parseArgs } from 'node:util';
import { BACKEND_NAMES, FarmerError, type BackendName } from '@farmer/core';
import { RUNTIME_CHOICES, type RuntimeChoice } from './runtime-choice.js';

/**
 * The defaults of a FARMER inference server's options: what its command
 * line documents and what the server fills in (it validates the ranges).
 */
export const SERVER_DEFAULTS = Object.freeze({
  concurrency: 1,
  queueSize: 8,
  maxCount: 16,
  batchSize: 16,
  maxBodyBytes: 64 * 1024,
  maxUploadBytes: 1024 * 1024,
  shutdownTimeoutMs: 30_000,
});

/**
 * The usage text of the server's command line, shared by the server's bin
 * (`farmer-server`) and `farmer serve`, which take the same flags.
 */
export function serverUsage(program = 'farmer-server'): string {
  return `Usage: ${program} [options]

Serves FARMER checkpoints over HTTP (API docs at /docs once running).

Options (environment variable in brackets):
  --models DIR            a directory of checkpoint directories (one model each, named
                          after its directory), or one checkpoint [FARMER_MODELS];
                          default: the installed built-in models (mnist-small,
                          fashion-small; FARMER_MODELS_DIR overrides)
  --port N                TCP port, 0 for any free one [PORT] (default 8080)
  --host HOST             interface to bind [FARMER_HOST] (default 127.0.0.1); beyond
                          loopback without --api-key, a warning is printed
  --api-key KEY           require "Authorization: Bearer KEY" on generate, likelihood
                          and the ONNX export files [FARMER_API_KEY]
  --concurrency N         jobs running at once (default ${SERVER_DEFAULTS.concurrency})
  --queue N               requests waiting at most; more get 429 (default ${SERVER_DEFAULTS.queueSize})
  --max-count N           largest count per generate request (default ${SERVER_DEFAULTS.maxCount})
  --batch-size N          images per generation pass; compatible queued requests share
                          one up to this many images (default ${SERVER_DEFAULTS.batchSize})
  --max-body-bytes N      largest JSON body (default ${SERVER_DEFAULTS.maxBodyBytes})
  --max-upload-bytes N    largest PNG upload for likelihood (default ${SERVER_DEFAULTS.maxUploadBytes})
  --shutdown-timeout S    seconds to let in-flight jobs finish on SIGTERM (default ${SERVER_DEFAULTS.shutdownTimeoutMs / 1000})
  --redis URL             generate on \`farmer worker\` processes through Redis
                          (redis://[:PASSWORD@]HOST[:PORT][/DB]) instead of in this
                          process; --queue then bounds the model's Redis queue [FARMER_REDIS]
  --runtime NAME          auto (onnxruntime whenever onnxruntime-node loads, exporting a
                          checkpoint on first use; else tfjs), onnx (existing exports
                          only) or tfjs [FARMER_RUNTIME] (default auto)
  --backend NAME          tfjs backend: auto, ${BACKEND_NAMES.join(', ')} [FARMER_BACKEND] (default auto)
  --log-level LEVEL       fatal, error, warn, info, debug, trace, silent [FARMER_LOG_LEVEL] (default info)
  -h, --help              show this text
`;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The server options a command line gives (plain data; `startServer` of @farmer/server takes them as they are). */
export interface ServerArgsOptions {
  models?: string;
  port: number;
  host: string;
  apiKey?: string;
  concurrency?: number;
  queueSize?: number;
  maxCount?: number;
  batchSize?: number;
  maxBodyBytes?: number;
  maxUploadBytes?: number;
  shutdownTimeoutMs?: number;
  backend?: BackendName | 'auto';
  runtime: RuntimeChoice;
  /** Redis URL: generate requests go to `farmer worker` processes (see @farmer/queue). */
  redis?: string;
  /** pino's logger option. */
  logger: { level: string };
}

/** The parsed command line: server options, or a request for help. */
export interface ServerCliArgs {
  help: boolean;
  options: ServerArgsOptions;
}

function bad(flag: string, message: string): never {
  throw new FarmerError('FARMER_E_BAD_INPUT', `${flag} ${message} (see --help)`, { field: flag });
}

function int(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) bad(flag, `must be a non-negative integer, got '${value}'`);
  return Number(value);
}

/**
 * Parses the server's command line, falling back to the environment for
 * the bracketed flags of {@link serverUsage}: the one parser of the
 * server's bin and `farmer serve`. Unknown flags and malformed values are
 * FARMER_E_BAD_INPUT naming the flag; ranges are checked by the server.
 */
export function parseServerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerCliArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        models: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'api-key': { type: 'string' },
        concurrency: { type: 'string' },
        queue: { type: 'string' },
        'max-count': { type: 'string' },
        'batch-size': { type: 'string' },
        'max-body-bytes': { type: 'string' },
        'max-upload-bytes': { type: 'string' },
        'shutdown-timeout': { type: 'string' },
        backend: { type: 'string' },
        runtime: { type: 'string' },
        redis: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${(e as Error).message} (see --help)`, { field: 'argv' });
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const backend = str('backend') ?? env.FARMER_BACKEND;
  if (backend !== undefined && backend !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(backend)) bad('--backend', `must be auto or one of ${BACKEND_NAMES.join(', ')}, got '${backend}'`);
  const level = str('log-level') ?? env.FARMER_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) bad('--log-level', `must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  const shutdown = int('--shutdown-timeout', str('shutdown-timeout'));
  const runtime = str('runtime') ?? (env.FARMER_RUNTIME || 'auto');
  if (!(RUNTIME_CHOICES as readonly string[]).includes(runtime)) bad('--runtime', `must be one of ${RUNTIME_CHOICES.join(', ')}, got '${runtime}'`);
  const options: ServerArgsOptions = {
    models: str('models') ?? (env.FARMER_MODELS || undefined),
    port: int('--port', str('port') ?? env.PORT) ?? 8080,
    host: str('host') ?? (env.FARMER_HOST || '127.0.0.1'),
    apiKey: str('api-key') ?? (env.FARMER_API_KEY || undefined),
    concurrency: int('--concurrency', str('concurrency')),
    queueSize: int('--queue', str('queue')),
    maxCount: int('--max-count', str('max-count')),
    batchSize: int('--batch-size', str('batch-size')),
    maxBodyBytes: int('--max-body-bytes', str('max-body-bytes')),
    maxUploadBytes: int('--max-upload-bytes', str('max-upload-bytes')),
    shutdownTimeoutMs: shutdown === undefined ? undefined : shutdown * 1000,
    backend: backend as BackendName | 'auto' | undefined,
    runtime: runtime as RuntimeChoice,
    redis: str('redis') ?? (env.FARMER_REDIS || undefined),
    logger: { level },
  };
  return { help: values.help === true, options };
}
