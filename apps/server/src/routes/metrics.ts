import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

/** GET /metrics in the Prometheus text format. */
export function registerMetricsRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        description:
          'farmer_http_requests_total, farmer_http_request_duration_seconds, farmer_queue_depth, farmer_jobs_running, farmer_jobs_total, farmer_job_duration_seconds, farmer_job_wait_seconds, farmer_queue_rejected_total, farmer_images_generated_total, farmer_models, and the process metrics.',
        tags: ['health'],
        produces: ['text/plain'],
        response: { 200: { content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
    },
    async (_request, reply) => {
      const text = await ctx.metrics.registry.metrics();
      return reply.type(ctx.metrics.registry.contentType).send(text);
    },
  );
}
