import { checkLabels, decodePng, NULL_LABEL, Rng } from '@farmer/core';
import type { FastifyInstance } from 'fastify';
import { bearerAuth } from '../auth.js';
import { clientAbortSignal } from '../client-abort.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { pngSize } from '../png-size.js';
import { bitsPerDimOf } from '@farmer/runtime';
import { modelParamsSchema } from '../schemas/generate-schema.js';
import { likelihoodBodySchema, likelihoodQuerySchema, likelihoodResultSchema, type LikelihoodBody, type LikelihoodQuery } from '../schemas/likelihood-schema.js';
import { requireModel } from './require-model.js';

const errorRef = { $ref: 'FarmerError#' } as const;

/** The label as the model takes it: null for the null label, else a class checked against numClasses. */
function checkLabel(label: number | null, numClasses: number): number | null {
  if (label === null || label === NULL_LABEL) return null;
  if (numClasses === 0) throw new HttpError('FARMER_E_BAD_INPUT', 'this model is unconditional: omit label (or pass null / -1)', { field: 'label' });
  return checkLabels([label], 1, numClasses, 'label')[0];
}

/**
 * POST /v1/models/{name}/likelihood, in a scope of its own: it alone parses
 * image/png bodies, and its JSON limit fits a base64 PNG.
 */
export async function registerLikelihoodRoute(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { apiKey, maxUploadBytes } = ctx.options;
  const jsonLimit = Math.ceil(maxUploadBytes / 3) * 4 + 4096;
  await app.register(async (scope) => {
    scope.addContentTypeParser('image/png', { parseAs: 'buffer', bodyLimit: maxUploadBytes }, (_request, body, done) => done(null, body));
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: jsonLimit }, scope.getDefaultJsonParser('error', 'error'));

    scope.post<{ Params: { name: string }; Body: LikelihoodBody | Buffer; Querystring: LikelihoodQuery }>(
      '/v1/models/:name/likelihood',
      {
        onRequest: apiKey ? [bearerAuth(apiKey)] : [],
        config: {
          accepts: ['image/png', 'application/json'],
          bodyField: 'image',
          bodyLimitFlag: '--max-upload-bytes',
          bodyLimits: { 'image/png': maxUploadBytes, 'application/json': jsonLimit },
          swaggerTransform: ({ schema, url }) => ({ url, schema: { ...schema, body: likelihoodBodySchema(maxUploadBytes, true) } }),
        },
        schema: {
          summary: 'Bits/dim of an image',
          description:
            "Scores one PNG of the model's size under the model: bits per dimension with uniform dequantisation (lower is more typical; useful for out-of-distribution checks). Send the PNG as the body (Content-Type image/png; ?label=&seed=) or base64 in JSON.",
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
        // Without a body (and so without a Content-Type) no parser runs and no schema applies.
        if (request.body === undefined || request.body === null) {
          throw new HttpError('FARMER_E_BAD_INPUT', 'the body is empty; send the PNG as the body (Content-Type: image/png) or JSON { "image": "<base64 PNG>" }', { field: 'body' });
        }
        const bitsPerDim = bitsPerDimOf(entry.runner);
        if (!bitsPerDim) throw new HttpError('FARMER_E_UNSUPPORTED', `model '${entry.name}' (runtime ${entry.runner.runtime}) cannot compute likelihoods`, { field: 'name' });
        const c = entry.runner.config;
        let bytes: Uint8Array;
        let rawLabel: number | null;
        let seed: number;
        if (Buffer.isBuffer(request.body)) {
          bytes = request.body;
          rawLabel = request.query.label === undefined ? null : Number(request.query.label);
          seed = request.query.seed === undefined ? 0 : Number(request.query.seed);
        } else {
          const body = request.body;
          bytes = Buffer.from(body.image, 'base64');
          if (bytes.length > maxUploadBytes) throw new HttpError('FARMER_E_TOO_LARGE', `image is ${bytes.length} bytes, over the limit of ${maxUploadBytes} (set by --max-upload-bytes)`, { field: 'image' });
          rawLabel = body.label ?? null;
          seed = body.seed ?? 0;
        }
        if (!Number.isSafeInteger(seed)) throw new HttpError('FARMER_E_BAD_INPUT', `seed must be an integer in [0, 2^53), got ${seed}`, { field: 'seed' });
        const label = checkLabel(rawLabel, c.numClasses);
        // Check the size in the header before decoding, so a huge PNG is refused without inflating it.
        const size = pngSize(bytes);
        const side = c.flow.imageSize;
        if (size.width !== side || size.height !== side) {
          throw new HttpError('FARMER_E_BAD_INPUT', `image must be ${side}×${side} pixels (this model's size), got ${size.width}×${size.height}`, { field: 'image' });
        }
        const channels = c.flow.inChannels;
        if (channels !== 1 && channels !== 3) throw new HttpError('FARMER_E_UNSUPPORTED', `likelihood supports 1- or 3-channel models, this one has ${channels}`, { field: 'name' });
        const image = decodePng(bytes, channels);
        const signal = clientAbortSignal(request, reply);
        const job = await ctx.queue.run(
          { kind: 'likelihood', model: entry.name },
          async () => (await bitsPerDim(image, label === null ? null : [label], new Rng(`likelihood:${seed}`)))[0],
          signal,
        );
        const bpd = job.value;
        if (!Number.isFinite(bpd)) throw new HttpError('FARMER_E_NON_FINITE', `the model gave a non-finite likelihood (${bpd}) for this image`, { field: 'image' });
        return {
          model: entry.name,
          bitsPerDim: bpd,
          label: label ?? -1,
          seed,
          dequantization: 'uniform' as const,
          width: size.width,
          height: size.height,
          channels,
          timings: { queueSeconds: job.waitSeconds, seconds: job.runSeconds },
        };
      },
    );
  });
}
