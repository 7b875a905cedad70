/*
 * JSON schemas of POST /v1/models/{name}/likelihood. The image comes either
 * as the raw body (Content-Type image/png, options in the query string) or
 * base64 in a JSON body. Query strings are not type-coerced (so JSON bodies
 * keep strict types), hence the integer patterns.
 */

import { likelihoodTermsSchema, oodResultSchema } from './ood-schema.js';

/** The JSON body as validated. */
export interface LikelihoodBody {
  image: string;
  label?: number | null;
  seed?: number;
}

/** The query string as validated (for raw PNG uploads). */
export interface LikelihoodQuery {
  label?: string;
  seed?: string;
}

/**
 * The body of a route that takes one image: JSON with a base64 `image` plus
 * `properties`, or the raw PNG. `maxUploadBytes` bounds the decoded PNG
 * (checked by the handler: 413, like a raw upload). `forDocs` describes the
 * raw body as a binary string for OpenAPI; validation must not say so, since
 * the parsed body is a Buffer.
 */
export function imageBodySchema<P extends Record<string, unknown>>(maxUploadBytes: number, forDocs: boolean, properties: P) {
  return {
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['image'],
          additionalProperties: false,
          properties: {
            image: { type: 'string', minLength: 1, description: `The PNG, base64 (at most ${maxUploadBytes} bytes decoded).` },
            ...properties,
          },
        },
      },
      'image/png': {
        // A Buffer: nothing for JSON schema to check; the handler validates the PNG itself.
        schema: forDocs ? { type: 'string', format: 'binary', description: 'The PNG bytes.' } : { description: 'The PNG bytes.' },
      },
    },
  } as const;
}

/** The dequantisation seed of a JSON body. */
export const seedProperty = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Seed of the dequantisation noise (default 0).' } as const;

export function likelihoodBodySchema(maxUploadBytes: number, forDocs = false) {
  return imageBodySchema(maxUploadBytes, forDocs, {
    label: { anyOf: [{ type: 'integer', minimum: -1 }, { type: 'null' }], description: 'Class to condition on; null or −1 (default): the null label.' },
    seed: seedProperty,
  });
}

export const likelihoodQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    label: { type: 'string', pattern: '^-?[0-9]{1,9}$', description: 'Class for a raw PNG upload (default: the null label).' },
    seed: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'Dequantisation seed for a raw PNG upload (default 0).' },
  },
} as const;

export const likelihoodResultSchema = {
  type: 'object',
  required: ['model', 'bitsPerDim', 'terms', 'label', 'seed', 'dequantization', 'width', 'height', 'channels', 'timings'],
  properties: {
    model: { type: 'string' },
    bitsPerDim: { type: 'number', description: 'Bits per dimension of the image under the model (lower: more typical).' },
    terms: likelihoodTermsSchema,
    ood: oodResultSchema,
    label: { type: 'integer', description: '−1: the null label.' },
    seed: { type: 'integer' },
    dequantization: { type: 'string', enum: ['uniform'] },
    width: { type: 'integer' },
    height: { type: 'integer' },
    channels: { type: 'integer' },
    timings: { type: 'object', properties: { queueSeconds: { type: 'number' }, seconds: { type: 'number' } } },
  },
} as const;
