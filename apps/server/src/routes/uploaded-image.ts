import { checkPngSize, decodePng, type U8Images } from '@farmer/core';
import { modelBackground, type FarmerConfig } from '@farmer/ar-gmm';
import type { FastifyInstance } from 'fastify';
import type { SwaggerTransform } from '@fastify/swagger';
import { bearerAuth } from '../auth.js';
import type { ServerContext } from '../context.js';
import { HttpError } from '../errors.js';
import { jsonBodyParser } from '../json-body-parser.js';

/**
 * A scope of its own for routes that take one image: it alone parses
 * image/png bodies, and its JSON limit fits a base64 PNG. `jsonLimit` is
 * the JSON body limit the routes declare.
 */
export async function registerImageUploadScope(app: FastifyInstance, ctx: ServerContext, routes: (scope: FastifyInstance, jsonLimit: number) => void | Promise<void>): Promise<void> {
  const { maxUploadBytes } = ctx.options;
  const jsonLimit = Math.ceil(maxUploadBytes / 3) * 4 + 4096;
  await app.register(async (scope) => {
    scope.addContentTypeParser('image/png', { parseAs: 'buffer', bodyLimit: maxUploadBytes }, (_request, body, done) => done(null, body));
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: jsonLimit }, jsonBodyParser);
    await routes(scope, jsonLimit);
  });
}

/** The PNG bytes of a raw image/png body or of a JSON body's base64 `image`; an empty or too large body is refused. */
export function uploadedPngBytes(body: { image: string } | Buffer | undefined | null, maxUploadBytes: number): Uint8Array {
  // Without a body (and so without a Content-Type) no parser runs and no schema applies.
  if (body === undefined || body === null) {
    throw new HttpError('FARMER_E_BAD_INPUT', 'the body is empty; send the PNG as the body (Content-Type: image/png) or JSON { "image": "<base64 PNG>" }', { field: 'body' });
  }
  if (Buffer.isBuffer(body)) return body;
  const bytes = Buffer.from(body.image, 'base64');
  if (bytes.length > maxUploadBytes) throw new HttpError('FARMER_E_TOO_LARGE', `image is ${bytes.length} bytes, over the limit of ${maxUploadBytes} (set by --max-upload-bytes)`, { field: 'image' });
  return bytes;
}

/** A seed from a JSON body or query string, checked; default 0. */
export function uploadSeed(raw: number | string | undefined): number {
  const seed = raw === undefined ? 0 : Number(raw);
  if (!Number.isSafeInteger(seed)) throw new HttpError('FARMER_E_BAD_INPUT', `seed must be an integer in [0, 2^53), got ${seed}`, { field: 'seed' });
  return seed;
}

/**
 * How an uploaded PNG becomes model input, for the image routes' OpenAPI
 * descriptions (the rule of docs/method.md §2.6 Transparency, which
 * {@link decodeModelPng} applies).
 */
export const UPLOADED_IMAGE_RULE =
  "Transparent pixels are composited on the model's background (config.background in GET /v1/models/{name}: the background of its training images, black unless it records another). A grey PNG given to a colour model is replicated into its 3 channels; a colour PNG given to a grey model becomes its luma 0.299·R + 0.587·G + 0.114·B.";

/**
 * Decodes one PNG of the model's size as the model takes it
 * (docs/method.md §2.6 Transparency): alpha composited on the model's
 * background, a grey PNG replicated for a colour model, a colour PNG turned
 * to its luma for a grey one. The size is checked in the header before
 * decoding, so a huge PNG is refused without inflating it.
 */
export function decodeModelPng(bytes: Uint8Array, c: FarmerConfig, what: string): { image: U8Images; width: number; height: number; channels: number } {
  const size = checkPngSize(bytes, { width: c.flow.imageSize, height: c.flow.imageSize });
  const channels = c.flow.inChannels;
  if (channels !== 1 && channels !== 3) throw new HttpError('FARMER_E_UNSUPPORTED', `${what} supports 1- or 3-channel models, this one has ${channels}`, { field: 'name' });
  return { image: decodePng(bytes, channels, { background: modelBackground(c) }), width: size.width, height: size.height, channels };
}

/**
 * The route options every image route shares: bearer auth when a key is
 * set, PNG or JSON bodies with their limits, and the OpenAPI body `docsBody`.
 */
export function imageRouteOptions(ctx: ServerContext, jsonLimit: number, docsBody: unknown) {
  const { apiKey, maxUploadBytes } = ctx.options;
  return {
    onRequest: apiKey ? [bearerAuth(apiKey)] : [],
    config: {
      accepts: ['image/png', 'application/json'],
      bodyField: 'image',
      bodyLimitFlag: '--max-upload-bytes',
      bodyLimits: { 'image/png': maxUploadBytes, 'application/json': jsonLimit },
      swaggerTransform: (({ schema, url }) => ({ url, schema: { ...schema, body: docsBody } })) as SwaggerTransform,
    },
  };
}
