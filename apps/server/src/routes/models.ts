import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { summarizeModel } from '../model-summary.js';
import { modelParamsSchema } from '../schemas/generate-schema.js';

/** GET /v1/models and GET /v1/models/{name}: what is served, with config summaries and sampler defaults. */
export function registerModelRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    '/v1/models',
    {
      schema: {
        summary: 'List the models',
        description: 'Every model found at startup, including those still loading or that failed to load (with the reason).',
        tags: ['models'],
        response: { 200: { type: 'object', required: ['models'], properties: { models: { type: 'array', items: { $ref: 'ModelSummary#' } } } } },
      },
    },
    async () => ({ models: ctx.registry.entries().map(summarizeModel) }),
  );

  app.get<{ Params: { name: string } }>(
    '/v1/models/:name',
    {
      schema: {
        summary: 'One model',
        tags: ['models'],
        params: modelParamsSchema,
        response: { 200: { $ref: 'ModelSummary#' }, '4xx': { $ref: 'FarmerError#' } },
      },
    },
    async (request) => {
      const entry = ctx.registry.get(request.params.name);
      if (!entry) throw new HttpError('FARMER_E_NOT_FOUND', `no model named '${request.params.name}' (GET /v1/models lists them)`, { field: 'name' });
      return summarizeModel(entry);
    },
  );
}
