import { likelihoodWithTerms } from '@farmer/ar-gmm';
import { DEFAULT_OOD_SCORE, scoreOod } from '@farmer/eval';
import { checkLabels, NULL_LABEL, Rng } from '@farmer/core';
import type { FastifyInstance } from 'fastify';
import { clientAbortSignal } from '../client-abort.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { modelParamsSchema } from '../schemas/generate-schema.js';
import { likelihoodBodySchema, likelihoodQuerySchema, likelihoodResultSchema, type LikelihoodBody, type LikelihoodQuery } from '../schemas/likelihood-schema.js';
import { requireLikelihood, requireModel } from './require-model.js';
import { oodStatsOf } from '../ood-stats-of.js';
import { decodeModelPng, imageRouteOptions, UPLOADED_IMAGE_RULE, uploadedPngBytes, uploadSeed } from './uploaded-image.js';

const errorRef = { $ref: 'FarmerError#' } as const;

/** The label as the model takes it: null for the null label, else a class checked against numClasses. */
function checkLabel(label: number | null, numClasses: number): number | null {
  if (label === null || label === NULL_LABEL) return null;
  if (numClasses === 0) throw new HttpError('FARMER_E_BAD_INPUT', 'this model is unconditional: omit label (or pass null / -1)', { field: 'label' });
  return checkLabels([label], 1, numClasses, 'label')[0];
}

/**
 * POST /v1/models/{name}/likelihood, in the image-upload scope (it parses
 * image/png bodies; its JSON limit fits a base64 PNG).
 */
export function registerLikelihoodRoute(scope: FastifyInstance, ctx: ServerContext, jsonLimit: number): void {
  const { apiKey, maxUploadBytes } = ctx.options;
  scope.post<{ Params: { name: string }; Body: LikelihoodBody | Buffer; Querystring: LikelihoodQuery }>(
    '/v1/models/:name/likelihood',
    {
      ...imageRouteOptions(ctx, jsonLimit, likelihoodBodySchema(maxUploadBytes, true)),
      schema: {
        summary: 'Bits/dim of an image',
        description:
          "Scores one PNG of the model's size under the model: bits per dimension with uniform dequantisation, log p(x|label) split into its informative, redundant and logdet terms, and (for a class-conditional model with training statistics) the default out-of-distribution score. Send the PNG as the body (Content-Type image/png; ?label=&seed=) or base64 in JSON. " + UPLOADED_IMAGE_RULE,
        tags: ['likelihood'],
        ...(apiKey ? { security: [{ bearerAuth: [] }] } : {}),
        params: modelParamsSchema,
        querystring: likelihoodQuerySchema,
        body: likelihoodBodySchema(maxUploadBytes),
        response: { 200: likelihoodResultSchema, '4xx': errorRef, '5xx': errorRef },
      },
    },
    async (request, reply) => {
      const entry = requireModel(ctx.registry, request.params.name);
      const bytes = uploadedPngBytes(request.body, maxUploadBytes);
      const lik = requireLikelihood(entry);
      const c = entry.runner.config;
      const raw = Buffer.isBuffer(request.body);
      const body = request.body as LikelihoodBody;
      const rawLabel = raw ? (request.query.label === undefined ? null : Number(request.query.label)) : (body.label ?? null);
      const seed = uploadSeed(raw ? request.query.seed : body.seed);
      const label = checkLabel(rawLabel, c.numClasses);
      const { image, width, height, channels } = decodeModelPng(bytes, c, 'likelihood');
      const signal = clientAbortSignal(request, reply);
      const stats = c.numClasses > 0 ? oodStatsOf(entry, (m) => request.log.warn({ model: entry.name, err: m }, 'no OOD score in likelihood responses')) : undefined;
      const job = await ctx.queue.run(
        { kind: 'likelihood', model: entry.name },
        async () => {
          const r = await likelihoodWithTerms(lik, image, label === null ? null : [label], new Rng(`likelihood:${seed}`));
          // The OOD score is over the most likely class (docs/method.md §5.5 OOD scores), with the same dequantisation draw.
          const ood = stats && (await scoreOod(lik, image, stats, { rng: new Rng(`likelihood:${seed}`), signal })).scores[DEFAULT_OOD_SCORE][0];
          return { bpd: r.bitsPerDim[0], terms: r.terms, ood };
        },
        signal,
      );
      const { bpd, terms, ood } = job.value;
      if (!Number.isFinite(bpd)) throw new HttpError('FARMER_E_NON_FINITE', `the model gave a non-finite likelihood (${bpd}) for this image`, { field: 'image' });
      return {
        model: entry.name,
        bitsPerDim: bpd,
        terms: { informative: terms.informative[0], redundant: terms.redundant[0], logdet: terms.logdet[0], total: terms.total[0] },
        ...(ood === undefined ? {} : { ood: { score: DEFAULT_OOD_SCORE, value: ood } }),
        label: label ?? -1,
        seed,
        dequantization: 'uniform' as const,
        width,
        height,
        channels,
        timings: { queueSeconds: job.waitSeconds, seconds: job.runSeconds },
      };
    },
  );
}
