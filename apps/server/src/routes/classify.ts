import { classify } from '@farmer/ar-gmm';
import { DEFAULT_OOD_SCORE, scoreClassified } from '@farmer/eval';
import { Rng } from '@farmer/core';
import type { FastifyInstance } from 'fastify';
import { clientAbortSignal } from '../client-abort.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { modelParamsSchema } from '../schemas/generate-schema.js';
import { classifyBodySchema, classifyQuerySchema, classifyResultSchema, type ClassifyBody, type ClassifyQuery } from '../schemas/classify-schema.js';
import { requireLikelihood, requireModel } from './require-model.js';
import { oodStatsOf } from '../ood-stats-of.js';
import { decodeModelPng, imageRouteOptions, UPLOADED_IMAGE_RULE, uploadedPngBytes, uploadSeed } from './uploaded-image.js';

const errorRef = { $ref: 'FarmerError#' } as const;

/**
 * POST /v1/models/{name}/classify, in the image-upload scope: the Bayes
 * posterior of one PNG (docs/method.md §5.4 Bayes classification), with the
 * likelihood route's body rules.
 */
export function registerClassifyRoute(scope: FastifyInstance, ctx: ServerContext, jsonLimit: number): void {
  const { apiKey, maxUploadBytes } = ctx.options;
  scope.post<{ Params: { name: string }; Body: ClassifyBody | Buffer; Querystring: ClassifyQuery }>(
    '/v1/models/:name/classify',
    {
      ...imageRouteOptions(ctx, jsonLimit, classifyBodySchema(maxUploadBytes, true)),
      schema: {
        summary: 'Class probabilities of an image',
        description:
          "Classifies one PNG of the model's size by Bayes' rule with the model's exact likelihood: log p(x|y) for every class, the posterior, its argmax, bits/dim under the most likely class with its informative, redundant and logdet terms, and the default out-of-distribution score when the model has training statistics. Needs a class-conditional model. Send the PNG as the body (Content-Type image/png; ?seed=&temperature=) or base64 in JSON. " + UPLOADED_IMAGE_RULE,
        tags: ['likelihood'],
        ...(apiKey ? { security: [{ bearerAuth: [] }] } : {}),
        params: modelParamsSchema,
        querystring: classifyQuerySchema,
        body: classifyBodySchema(maxUploadBytes),
        response: { 200: classifyResultSchema, '4xx': errorRef, '5xx': errorRef },
      },
    },
    async (request, reply) => {
      const entry = requireModel(ctx.registry, request.params.name);
      const bytes = uploadedPngBytes(request.body, maxUploadBytes);
      const lik = requireLikelihood(entry);
      const c = entry.runner.config;
      if (c.numClasses === 0) throw new HttpError('FARMER_E_BAD_INPUT', `model '${entry.name}' is unconditional: classification needs a class-conditional model`, { field: 'name' });
      const raw = Buffer.isBuffer(request.body);
      const body = request.body as ClassifyBody;
      const seed = uploadSeed(raw ? request.query.seed : body.seed);
      const temperature = raw ? (request.query.temperature === undefined ? 1 : Number(request.query.temperature)) : (body.temperature ?? 1);
      if (!(temperature > 0) || !Number.isFinite(temperature)) throw new HttpError('FARMER_E_BAD_INPUT', `temperature must be a finite number > 0, got ${temperature}`, { field: 'temperature' });
      const { image } = decodeModelPng(bytes, c, 'classify');
      const signal = clientAbortSignal(request, reply);
      const stats = oodStatsOf(entry, (m) => request.log.warn({ model: entry.name, err: m }, 'no OOD score in classify responses'));
      const job = await ctx.queue.run(
        { kind: 'classify', model: entry.name },
        async () => {
          const r = await classify(lik, image, { temperature, rng: new Rng(`classify:${seed}`), signal });
          return { r, ood: stats && (await scoreClassified(r, image, c, stats)).scores[DEFAULT_OOD_SCORE][0] };
        },
        signal,
      );
      const { r, ood } = job.value;
      if (!r.logLik.every(Number.isFinite)) throw new HttpError('FARMER_E_NON_FINITE', 'the model gave a non-finite likelihood for this image', { field: 'image' });
      return {
        model: entry.name,
        predicted: r.predicted[0],
        posterior: Array.from(r.posterior),
        logLikelihood: Array.from(r.logLik),
        bitsPerDim: r.bitsPerDim[0],
        terms: { informative: r.terms.informative[0], redundant: r.terms.redundant[0], logdet: r.terms.logdet[0], total: r.terms.total[0] },
        ...(ood === undefined ? {} : { ood: { score: DEFAULT_OOD_SCORE, value: ood } }),
        temperature,
        seed,
        dequantization: 'uniform' as const,
        timings: { queueSeconds: job.waitSeconds, seconds: job.runSeconds },
      };
    },
  );
}
