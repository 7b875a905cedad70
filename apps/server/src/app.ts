import { setTimeout as sleep } from 'node:timers/promises';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { backendInfo, describeBackend, initBackend, type BackendName } from '@farmer/core';
import { RemoteGenerator } from '@farmer/queue';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { ServerContext } from './context.js';
import { frameworkErrorHandler, installErrorHandling } from './error-handler.js';
import { HTTP_STATUS, HttpError } from './errors.js';
import { jsonBodyParser } from './json-body-parser.js';
import { JobQueue } from './job-queue.js';
import { createMetrics } from './metrics.js';
import { discoverModels, ModelRegistry, type LoadReport } from './model-registry.js';
import { modelSummarySchema } from './model-summary.js';
import { resolveServerOptions, type ServerOptions } from './options.js';
import { registerGenerateRoute } from './routes/generate.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerClassifyRoute } from './routes/classify.js';
import { registerLikelihoodRoute } from './routes/likelihood.js';
import { registerImageUploadScope } from './routes/uploaded-image.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerModelRoutes } from './routes/models.js';
import { registerOnnxExportRoutes } from './routes/onnx-exports.js';
import { registerPlaygroundRoutes } from './routes/playground.js';
import { installRemoteMode } from './remote-mode.js';

/** Brings up tfjs: the requested backend, else keeps the active one, else the best available. */
async function prepareBackend(backend: BackendName | 'auto' | undefined, log: FastifyBaseLogger): Promise<void> {
  const info = backend !== undefined || !backendInfo() ? await initBackend({ backend }) : backendInfo()!;
  log.info({ backend: info.name, detail: describeBackend(info) }, 'tfjs backend');
}

/** Resolves after `ms`, or at once when `promise` settles first; false on timeout. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([promise.then(() => true), sleep(ms, false, { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}

/** Request-level hooks: refuse work while closing, and record request metrics (requests whose client went away first as 499). */
function installRequestHooks(app: FastifyInstance, ctx: ServerContext): void {
  const gone = new WeakSet<FastifyRequest>();
  const count = (request: FastifyRequest, status: number, seconds: number): void => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(status) };
    ctx.metrics.requests.inc(labels);
    ctx.metrics.requestSeconds.observe(labels, seconds);
  };
  app.addHook('onRequest', async (request, reply) => {
    // The client closed the connection before its answer was sent: no onResponse will come.
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      gone.add(request);
      count(request, HTTP_STATUS.FARMER_E_ABORTED, reply.elapsedTime / 1000);
    });
    if (!ctx.state.closing || request.url === '/healthz') return;
    reply.header('connection', 'close');
    throw new HttpError('FARMER_E_UNAVAILABLE', 'the server is shutting down; retry on another instance', { headers: { 'retry-after': '1' } });
  });
  app.addHook('onSend', async (_request, reply) => {
    // Answers sent during shutdown end their connection, so the server can close.
    if (ctx.state.closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    if (!gone.has(request)) count(request, reply.statusCode, reply.elapsedTime / 1000);
  });
}

/**
 * Graceful shutdown, run by `app.close()`: stop accepting connections and
 * new requests, let queued and running jobs finish (up to
 * shutdownTimeoutMs, then abort them), let their answers go out, then close.
 */
function installShutdown(app: FastifyInstance, ctx: ServerContext): void {
  app.addHook('preClose', async () => {
    ctx.state.closing = true;
    const server = app.server;
    const closed = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    const { queue } = ctx;
    app.log.info({ running: queue.running, queued: queue.queued }, 'shutting down: finishing in-flight jobs');
    if (!(await within(queue.idle(), ctx.options.shutdownTimeoutMs))) {
      app.log.warn({ running: queue.running, queued: queue.queued, timeoutMs: ctx.options.shutdownTimeoutMs }, 'shutdown timeout: aborting the remaining jobs');
      queue.abortAll();
      await queue.idle();
    }
    // Answers of the last jobs are on their way; their connections close after them.
    if (!(await within(closed, 5000))) server.closeAllConnections();
  });
  app.addHook('onClose', async () => {
    await ctx.registry.dispose();
  });
}

/**
 * Builds the FARMER inference server (not listening: call `listen`, or use
 * `app.inject()` in tests). Models are discovered now (a missing models
 * directory throws) and loaded in the background: GET /readyz answers 503
 * until they are; `app.farmer.loadModels()` awaits the load report.
 */
export async function buildApp(options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = await createApp(options);
  void app.farmer.loadModels();
  return app;
}

/**
 * {@link buildApp} without starting to load the models: `startServer`
 * binds its port first, so a port in use is reported before any model
 * loads, then calls `app.farmer.loadModels()`.
 */
export async function createApp(options: ServerOptions = {}): Promise<FastifyInstance> {
  const o = resolveServerOptions(options);
  const sources = discoverModels(o.models);
  const remote = o.redis ? await RemoteGenerator.connect(o.redis, { maxQueued: o.queueSize }) : undefined;
  const app = Fastify({
    logger: o.logger,
    bodyLimit: o.maxBodyBytes,
    // Shutdown answers 503 in the server's own error shape (installRequestHooks).
    return503OnClosing: false,
    // Strict bodies: no type coercion (a string count is a 400) and no silent dropping of unknown fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false } },
    frameworkErrors: frameworkErrorHandler,
  });
  const registry = new ModelRegistry(sources, o.openRunner, app.log);
  let queue: JobQueue | undefined;
  const metrics = createMetrics(() => queue!, () => registry, { processMetrics: o.processMetrics });
  queue = new JobQueue({
    concurrency: o.concurrency,
    maxQueued: o.queueSize,
    batchWindowMs: o.batchWindowMs,
    beforeJob: o.hooks.beforeJob,
    onJobStarted: (requests) => metrics.jobRequests.observe(requests),
    onSettled: (job) => {
      metrics.observeJob(job);
      o.hooks.onJobSettled?.(job);
      if (job.outcome === 'failed') app.log.warn({ job: job.id, kind: job.kind, model: job.model, err: job.error }, 'job failed');
      else if (job.outcome !== 'done') app.log.info({ job: job.id, kind: job.kind, model: job.model, outcome: job.outcome }, 'job cancelled');
    },
    onRejected: (job) => metrics.rejected.inc({ kind: job.kind }),
  });
  let loading: Promise<LoadReport> | undefined;
  const loadModels = (): Promise<LoadReport> =>
    (loading ??= registry.load(() => prepareBackend(o.backend, app.log)).then((report) => {
      if (report.ready.length) app.log.info({ ready: report.ready, failed: report.failed.map((f) => f.name) }, 'models loaded');
      else app.log.error({ failed: report.failed }, 'no model could be loaded; /readyz stays 503');
      return report;
    }));
  const ctx: ServerContext = { options: o, registry, queue, remote, metrics, state: { closing: false }, loadModels };
  app.decorate('farmer', ctx);

  installErrorHandling(app);
  // No route takes text: a text body is a 415 naming the accepted types, not a confusing schema error.
  app.removeContentTypeParser('text/plain');
  // JSON as fastify parses it, but a refused "__proto__" key is named as such, not as invalid JSON.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, jsonBodyParser);
  app.addSchema(modelSummarySchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'FARMER inference server',
        description: 'Generate images and score likelihoods with FARMER checkpoints. Errors are `{ error: { code, message, field } }`.',
        version: '1.0.0',
      },
      tags: [
        { name: 'generation', description: 'Sampling' },
        { name: 'likelihood', description: 'Bits/dim and class probabilities of uploaded images' },
        { name: 'models', description: 'What is served' },
        { name: 'health', description: 'Probes and metrics' },
      ],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'The server API key (--api-key), when one is set.' } } },
    },
    // Name shared schemas after their $id in the document (FarmerError, ModelSummary).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });

  installRequestHooks(app, ctx);
  registerHealthRoutes(app, ctx);
  registerModelRoutes(app, ctx);
  registerGenerateRoute(app, ctx);
  await registerImageUploadScope(app, ctx, (scope, jsonLimit) => {
    registerLikelihoodRoute(scope, ctx, jsonLimit);
    registerClassifyRoute(scope, ctx, jsonLimit);
  });
  registerMetricsRoute(app, ctx);
  registerOnnxExportRoutes(app, ctx);
  await registerPlaygroundRoutes(app);
  if (remote) installRemoteMode(app, ctx, remote);
  installShutdown(app, ctx);
  return app;
}
