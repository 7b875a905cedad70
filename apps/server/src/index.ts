/**
 * @farmer/server: the HTTP inference server for FARMER checkpoints.
 * `startServer` for the bin, `farmer serve` and benches; `buildApp` for
 * tests and embedding.
 */
export { buildApp } from './app.js';
export { startServer, type RunningServer, type StartServerOptions } from './server.js';
export { resolveServerOptions, SERVER_DEFAULTS, OPTION_FLAGS, type ResolvedServerOptions, type ServerOptions } from './options.js';
export { parseServerArgs, SERVER_USAGE, type ServerCliArgs } from './cli-args.js';
export { HTTP_STATUS, HttpError, SERVER_ERROR_CODES, type ErrorBody, type HttpErrorCode, type ServerErrorCode } from './errors.js';
export { toHttpError } from './error-handler.js';
export { JobQueue, type JobInfo, type JobKind, type JobOutcome, type JobQueueOptions, type JobResult, type JobSettled } from './job-queue.js';
export {
  defaultOpenRunner,
  onnxExportDirOf,
  openRunnerFor,
  type RuntimeChoice,
  discoverModels,
  MODEL_NAME_PATTERN,
  ModelRegistry,
  type LoadReport,
  type ModelEntry,
  type ModelSource,
  type ModelStatus,
  type OpenRunner,
} from './model-registry.js';
export { disposeRunner, likelihoodOf, type BitsPerDim } from './runner-capabilities.js';
export { summarizeModel, type ModelSummary } from './model-summary.js';
export type { ServerContext } from './context.js';
export type { ServerMetrics } from './metrics.js';
