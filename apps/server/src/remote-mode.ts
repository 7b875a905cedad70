import type { FarmerRunner } from '@farmer/ar-gmm';
import { QueueFullError, type RemoteGenerator } from '@farmer/queue';
import type { GenerateRequest, GenerateResult } from '@farmer/sampling';
import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { ServerContext } from './context.js';
import { HttpError } from './errors.js';
import type { JobResult } from './job-queue.js';

/**
 * `--redis` mode: a generate request runs on a `farmer worker` through its
 * model's Redis queue instead of this process's job queue, answered in the
 * same shape. A full Redis queue is a 429 with the queue's Retry-After.
 */
export async function generateRemotely(remote: RemoteGenerator, model: { name: string; dir: string; runner: FarmerRunner }, request: GenerateRequest, capacity: number, signal: AbortSignal): Promise<JobResult<GenerateResult>> {
  const identity = await remote.identity(model.name, model.dir, model.runner.runtime);
  try {
    const r = await remote.generate(identity, request, capacity, signal);
    return { value: r.result, waitSeconds: r.waitSeconds, runSeconds: r.runSeconds, batch: { id: r.pass.id, requests: r.pass.requests } };
  } catch (e) {
    if (e instanceof QueueFullError) throw new HttpError('FARMER_E_BUSY', e.message, { headers: { 'retry-after': String(e.retryAfterSeconds) } });
    throw e;
  }
}

/** `--redis` mode's /metrics (each model's Redis queue depth and live workers) and shutdown (the answers under way first, within the shutdown timeout). */
export function installRemoteMode(app: FastifyInstance, ctx: ServerContext, remote: RemoteGenerator): void {
  const ready = () => ctx.registry.entries().filter((e) => e.status === 'ready');
  // One gauge per figure of `remote.depth`, read per ready model at each scrape.
  const perModelGauge = (name: string, help: string, pick: (d: { waiting: number; workers: number }) => number): void =>
    void new Gauge({
      name,
      help,
      labelNames: ['model'] as const,
      registers: [ctx.metrics.registry],
      async collect() {
        for (const e of ready()) {
          try {
            this.set({ model: e.name }, pick(await remote.depth(e.name)));
          } catch {
            this.remove({ model: e.name }); // Redis unreachable: no figure rather than a stale one
          }
        }
      },
    });
  perModelGauge('farmer_redis_queue_depth', "Generate requests waiting in each model's Redis queue (--redis), across every server sharing it.", (d) => d.waiting);
  perModelGauge('farmer_redis_workers', "farmer worker processes listening on each model's Redis queue (--redis).", (d) => d.workers);
  // Registered before the server's own shutdown: refuse new work, let the answers under way arrive (up to the
  // shutdown timeout; the rest are answered 503, their jobs left in Redis), and end every Redis connection, Redis
  // or not, so that the HTTP connections can close and nothing keeps the process alive.
  app.addHook('preClose', async () => {
    ctx.state.closing = true;
    if (remote.pending) app.log.info({ pending: remote.pending }, 'shutting down: waiting for the workers\' answers');
    await remote.close(ctx.options.shutdownTimeoutMs);
    if (remote.pending) app.log.warn({ pending: remote.pending, timeoutMs: ctx.options.shutdownTimeoutMs }, 'shutdown timeout: answering the remaining requests 503');
  });
}
