import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { publicMessage } from '../model-registry.js';

const modelCounts = {
  type: 'object',
  properties: { ready: { type: 'integer' }, loading: { type: 'integer' }, failed: { type: 'integer' } },
} as const;

const readySchema = {
  type: 'object',
  required: ['status', 'models'],
  properties: {
    status: { type: 'string', enum: ['ready', 'loading', 'no-models', 'redis-unreachable', 'closing'] },
    models: modelCounts,
    failed: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } } } },
  },
} as const;

/** GET /healthz (liveness: the process answers) and GET /readyz (models loaded, Redis reachable in --redis mode, not shutting down). */
export function registerHealthRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const started = Date.now();
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness',
        description: 'Answers 200 while the process runs, even while models load or jobs run (generation never blocks the event loop for long).',
        tags: ['health'],
        response: { 200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] }, uptimeSeconds: { type: 'number' } } } },
      },
    },
    async () => ({ status: 'ok' as const, uptimeSeconds: (Date.now() - started) / 1000 }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness',
        description: '200 once every model finished loading and at least one serves; 503 while loading, when none loaded, while Redis cannot be reached (--redis: status redis-unreachable), or while shutting down.',
        tags: ['health'],
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const all = ctx.registry.entries();
      const count = (s: string) => all.filter((e) => e.status === s).length;
      const models = { ready: count('ready'), loading: count('loading'), failed: count('failed') };
      // Probes are anonymous: messages name models, never the server's paths.
      const failed = ctx.registry.report().failed.map((f) => ({ name: f.name, code: f.code, message: publicMessage(f.message, f) }));
      const status = ctx.state.closing ? 'closing' : !ctx.registry.loaded ? 'loading' : !ctx.registry.ready ? 'no-models' : ctx.remote && !ctx.remote.health.up ? 'redis-unreachable' : 'ready';
      if (status !== 'ready') reply.status(503).header('retry-after', '2');
      return { status, models, failed };
    },
  );
}
