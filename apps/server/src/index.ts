/**
 * @farmer/server: the HTTP inference server for FARMER checkpoints.
 * `startServer` for the bin, `farmer serve` and benches; `buildApp` for
 * tests and embedding; `serverCommand` and `serverCliOptions`, the command
 * line of the bin and of `farmer serve`.
 */
export { buildApp } from './app.js';
export { serverCliOptions, serverCommand, type ServerCliOptions } from './command-line.js';
export { startServer, type RunningServer, type StartServerOptions } from './server.js';
export { resolveServerOptions, SERVER_DEFAULTS, OPTION_FLAGS, type ResolvedServerOptions, type ServerOptions } from './options.js';
export { HTTP_STATUS, HttpError, SERVER_ERROR_CODES, type ErrorBody, type HttpErrorCode, type ServerErrorCode } from './errors.js';
export { toHttpError } from './error-handler.js';
export {
  JobQueue,
  type JobBatch,
  type JobExec,
  type JobInfo,
  type JobKind,
  type JobMember,
  type JobOutcome,
  type JobQueueOptions,
  type JobRequest,
  type JobResult,
  type JobSettled,
} from './job-queue.js';
export {
  defaultOpenRunner,
  publicMessage,
  runtimeOpener,
  discoverModels,
  MODEL_NAME_PATTERN,
  ModelRegistry,
  type LoadReport,
  type ModelEntry,
  type ModelSource,
  type ModelStatus,
  type OpenRunner,
} from './model-registry.js';
export { summarizeModel, type ModelSummary } from './model-summary.js';
export type { ServerContext } from './context.js';
export type { ServerMetrics } from './metrics.js';
