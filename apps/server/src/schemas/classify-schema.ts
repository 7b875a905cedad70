/*
 * JSON schemas of POST /v1/models/{name}/classify. The image comes as the
 * raw body (Content-Type image/png, options in the query string) or base64
 * in a JSON body, as for the likelihood route.
 */

import { likelihoodTermsSchema, oodResultSchema } from './ood-schema.js';
import { imageBodySchema, seedProperty } from './likelihood-schema.js';

/** The JSON body as validated. */
export interface ClassifyBody {
  image: string;
  seed?: number;
  temperature?: number;
}

/** The query string as validated (for raw PNG uploads). */
export interface ClassifyQuery {
  seed?: string;
  temperature?: string;
}

const temperatureDoc = "Temperature T > 0 of the likelihood in the posterior p(y|x) ∝ p(x|y)^(1/T) (default 1; fit one with `farmer eval classify`).";

/** As `likelihoodBodySchema`, with a temperature instead of a label. */
export function classifyBodySchema(maxUploadBytes: number, forDocs = false) {
  return imageBodySchema(maxUploadBytes, forDocs, {
    seed: seedProperty,
    temperature: { type: 'number', exclusiveMinimum: 0, maximum: 1e9, description: temperatureDoc },
  });
}

export const classifyQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    seed: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'Dequantisation seed for a raw PNG upload (default 0).' },
    temperature: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$', description: temperatureDoc },
  },
} as const;

export const classifyResultSchema = {
  type: 'object',
  required: ['model', 'predicted', 'posterior', 'logLikelihood', 'bitsPerDim', 'terms', 'temperature', 'seed', 'dequantization', 'timings'],
  properties: {
    model: { type: 'string' },
    predicted: { type: 'integer', description: 'argmax_y p(y|x).' },
    posterior: { type: 'array', items: { type: 'number' }, description: 'p(y|x) for every class (uniform prior).' },
    logLikelihood: { type: 'array', items: { type: 'number' }, description: 'log p(x|y) in nats for every class ([-1, 1] scale, dequantised).' },
    bitsPerDim: { type: 'number', description: 'Bits per dimension under the most likely class.' },
    terms: likelihoodTermsSchema,
    ood: oodResultSchema,
    temperature: { type: 'number' },
    seed: { type: 'integer' },
    dequantization: { type: 'string', enum: ['uniform'] },
    timings: { type: 'object', properties: { queueSeconds: { type: 'number' }, seconds: { type: 'number' } } },
  },
} as const;
