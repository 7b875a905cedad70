import { generateOptionFields, servedGenerateOptionsSchema, type GenerateOptionsInput } from '@farmer/sampling';
import { z } from 'zod';
import { MODEL_NAME_PATTERN } from '../model-registry.js';

/*
 * JSON schemas of POST /v1/models/{name}/generate, with the TypeScript types
 * they validate into. The body is @farmer/sampling's generate-options schema
 * with the server's caps on untrusted requests (its `servedGenerateOptionsSchema`:
 * names, types, bounds, defaults and descriptions all come from there), less
 * the run-wide options the server sets itself (--batch-size), plus the
 * answer's format. The per-model checks (labels < numClasses, decoder
 * available) are the library's (resolveGenerateOptions).
 */

export const OUTPUT_FORMATS = ['json', 'png', 'grid'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The run-wide options of the schema (batch size): the server's own flags set them, never a request. */
const RUN_WIDE = Object.fromEntries(generateOptionFields().filter((f) => !f.perRequest).map((f) => [f.path[0], true])) as Record<'batchSize', true>;

/** The generate body as validated: the library's options (less the run-wide ones) and the answer's format. */
export type GenerateBody = Omit<GenerateOptionsInput, 'batchSize'> & { format?: OutputFormat };

export const modelParamsSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', pattern: MODEL_NAME_PATTERN, description: 'Model name, as listed by GET /v1/models.' } },
} as const;

/** The body schema; `maxCount` is the server's --max-count. */
export function generateBodySchema(maxCount: number): Record<string, unknown> {
  const body = servedGenerateOptionsSchema({ maxCount })
    .omit(RUN_WIDE)
    .extend({
      format: z
        .enum(OUTPUT_FORMATS)
        .optional()
        .describe("'json': base64 PNGs with parameters and timings; 'png': image/png of the one image (count 1); 'grid': one image/png tiling all. Default: json, or png when Accept is image/png."),
    })
    .describe('What to draw. Same seed and options ⇒ the same images as the library and the CLI on the same backend.');
  const { $schema: _draft, ...schema } = z.toJSONSchema(body, { target: 'draft-7', io: 'input' });
  return schema;
}

const decoupledOut = { type: 'object', properties: { temperature: { type: 'number' }, scale: { type: 'number' } } } as const;

/** JSON answer of generate. */
export const generateJsonSchema = {
  type: 'object',
  required: ['model', 'images', 'parameters', 'timings', 'runtime'],
  properties: {
    model: { type: 'string' },
    runtime: { type: 'string', description: "Runner runtime ('tfjs', ...)." },
    images: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'label', 'seed', 'width', 'height', 'channels', 'png'],
        properties: {
          index: { type: 'integer' },
          label: { type: 'integer', description: '−1: unconditional.' },
          seed: { type: 'string', description: 'The image seed: pass it in imageSeeds to redraw this image alone.' },
          width: { type: 'integer' },
          height: { type: 'integer' },
          channels: { type: 'integer' },
          png: { type: 'string', contentEncoding: 'base64', description: 'PNG bytes, base64.' },
        },
      },
    },
    parameters: {
      type: 'object',
      description: 'Every option as used, defaults filled in (the library\'s ResolvedGenerateOptions).',
      additionalProperties: true,
      properties: { seed: { type: 'integer' }, sampler: { type: 'string' }, informative: decoupledOut, redundant: decoupledOut },
    },
    redrawn: {
      type: 'array',
      description: 'Images whose first latents the decoder could not invert and that were drawn again from their own seed (usually empty).',
      items: { type: 'object', required: ['image', 'attempts'], properties: { image: { type: 'integer' }, attempts: { type: 'integer' } } },
    },
    timings: {
      type: 'object',
      properties: {
        queueSeconds: { type: 'number' },
        arSeconds: { type: 'number' },
        afSeconds: { type: 'number' },
        totalSeconds: { type: 'number' },
        jacobiIterations: { type: 'array', items: { type: 'number' }, description: "With the 'jacobi' decoder: passes per AF block (by block index), the mean over the job's batches." },
      },
    },
    batch: {
      type: 'object',
      description: 'The job that drew these images: compatible requests queued together share one (and its timings); each still gets exactly the images it would get alone.',
      properties: { id: { type: 'integer' }, requests: { type: 'integer', description: 'Requests the job served.' } },
    },
  },
} as const;
