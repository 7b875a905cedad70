import { randomInt } from 'node:crypto';
import { encodePng, imageGrid } from '@farmer/core';
import { imageCount, seedOf, type GenerateResult } from '@farmer/sampling';
import { generateBatchKey, generateTogether, type GenerateRequest } from '../generate-batch.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { bearerAuth } from '../auth.js';
import { clientAbortSignal } from '../client-abort.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { generateBodySchema, generateJsonSchema, modelParamsSchema, type GenerateBody, type OutputFormat } from '../schemas/generate-schema.js';
import { requireModel } from './require-model.js';
import { generateRemotely } from '../remote-mode.js';

const errorRef = { $ref: 'FarmerError#' } as const;

/**
 * The answer's format: `format` when given, else image/png when the client
 * asks only for it (the one image, or a grid of several), else JSON.
 */
export function chooseFormat(body: GenerateBody, accept: string | undefined): OutputFormat {
  const count = imageCount(body);
  if (body.format === 'png' && count !== 1) {
    throw new HttpError('FARMER_E_BAD_INPUT', `format 'png' returns one image but count is ${count}; use count 1, format 'grid' (one tiled PNG) or 'json'`, { field: 'format' });
  }
  if (body.format) return body.format;
  const wantsPng = accept !== undefined && /\bimage\/png\b/.test(accept) && !/application\/json|\*\/\*/.test(accept);
  if (!wantsPng) return 'json';
  return count === 1 ? 'png' : 'grid';
}

/** The request body as library options: its count settled (one per label when labels is a list), a random seed when none is given, the server-wide batch size. */
function toGenerateOptions(body: GenerateBody, batchSize: number): GenerateRequest {
  const { format: _format, ...options } = body;
  return { ...options, count: imageCount(body), labels: body.labels ?? null, seed: body.seed ?? randomInt(0, 2 ** 31), batchSize };
}

function imageSeed(options: GenerateRequest, i: number): string {
  return String(options.imageSeeds?.[i] ?? seedOf(options.seed, i));
}

function sendPng(reply: FastifyReply, png: Uint8Array, r: GenerateResult, options: GenerateRequest, queueSeconds: number): FastifyReply {
  return reply
    .type('image/png')
    .headers({
      'x-farmer-seed': String(options.seed),
      'x-farmer-image-seeds': Array.from({ length: r.images.count }, (_, i) => imageSeed(options, i)).join(','),
      'x-farmer-labels': Array.from(r.labels).join(','),
      'x-farmer-sampler': r.parameters.sampler,
      'server-timing': `queue;dur=${(queueSeconds * 1000).toFixed(1)}, ar;dur=${(r.timings.arSeconds * 1000).toFixed(1)}, af;dur=${(r.timings.afSeconds * 1000).toFixed(1)}`,
    })
    .send(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
}

/** POST /v1/models/{name}/generate. */
export function registerGenerateRoute(app: FastifyInstance, ctx: ServerContext): void {
  const { apiKey, maxCount, batchSize, maxBodyBytes } = ctx.options;
  app.post<{ Params: { name: string }; Body: GenerateBody }>(
    '/v1/models/:name/generate',
    {
      onRequest: apiKey ? [bearerAuth(apiKey)] : [],
      bodyLimit: maxBodyBytes,
      config: { accepts: ['application/json'], bodyLimitFlag: '--max-body-bytes' },
      schema: {
        summary: 'Generate images',
        description:
          'Draws `count` images (labels, seed and sampler options as in the library). Answers JSON with base64 PNGs, parameters and timings, or image/png (format png/grid, or Accept: image/png). Queued: 429 with Retry-After when the queue is full; a client that disconnects cancels its job.',
        tags: ['generation'],
        ...(apiKey ? { security: [{ bearerAuth: [] }] } : {}),
        params: modelParamsSchema,
        body: generateBodySchema(maxCount),
        response: {
          200: {
            description: 'The images.',
            content: {
              'application/json': { schema: generateJsonSchema },
              'image/png': { schema: { type: 'string', format: 'binary', description: 'One PNG (format png) or a grid of all (format grid).' } },
            },
          },
          '4xx': errorRef,
          '5xx': errorRef,
        },
      },
    },
    async (request, reply) => {
      const entry = requireModel(ctx.registry, request.params.name);
      const body = request.body;
      const format = chooseFormat(body, request.headers.accept);
      const options = toGenerateOptions(body, batchSize);
      // Validates against the model now (a bad request is a 400 at once, never a queued job), and says which requests may share a pass.
      const key = generateBatchKey(entry.runner, options);
      const signal = clientAbortSignal(request, reply);
      const { runner } = entry;
      const job = ctx.remote
        ? await generateRemotely(ctx.remote, { name: entry.name, dir: entry.dir, runner }, options, batchSize, signal)
        : await ctx.queue.submit(
            { kind: 'generate', model: entry.name, batch: { key, size: options.count, capacity: batchSize } },
            options,
            (members, jobSignal) => generateTogether(runner, members, jobSignal),
            signal,
          );
      const r = job.value;
      ctx.metrics.images.inc({ model: entry.name }, r.images.count);
      request.log.info(
        { model: entry.name, count: r.images.count, seed: options.seed, sampler: r.parameters.sampler, format, queueSeconds: job.waitSeconds, seconds: job.runSeconds, batch: job.batch },
        'generated',
      );
      if (format === 'png') return sendPng(reply, encodePng(r.images, 0), r, options, job.waitSeconds);
      if (format === 'grid') return sendPng(reply, encodePng(imageGrid(r.images)), r, options, job.waitSeconds);
      const { width, height, channels } = r.images;
      return reply.type('application/json; charset=utf-8').send({
        model: entry.name,
        runtime: r.runtime,
        images: Array.from({ length: r.images.count }, (_, i) => ({
          index: i,
          label: r.labels[i],
          seed: imageSeed(options, i),
          width,
          height,
          channels,
          png: Buffer.from(encodePng(r.images, i)).toString('base64'),
        })),
        parameters: r.parameters,
        redrawn: r.redrawn,
        timings: { queueSeconds: job.waitSeconds, ...r.timings },
        batch: job.batch,
      });
    },
  );
}
