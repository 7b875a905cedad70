import type { GuidanceSchedule, SamplerName } from '@farmer/sampling';
import { MODEL_NAME_PATTERN } from '../model-registry.js';

/*
 * JSON schemas of POST /v1/models/{name}/generate, with the TypeScript types
 * they validate into. Ranges are wide enough for every sensible setting and
 * narrow enough that no accepted value makes a trained model overflow; the
 * per-model checks (labels < numClasses, decoder available) are the
 * library's (resolveGenerateOptions).
 */

/** A temperature or scale: the sampling code needs > 0; below 0.01 the mixtures degenerate. */
const positive = (description: string) => ({ type: 'number', minimum: 0.01, maximum: 10, description }) as const;
const decoupled = (which: string) =>
  ({
    type: 'object',
    additionalProperties: false,
    description: `Decoupled sampling of the ${which} head (docs/method.md §7.2 decoupled sampling).`,
    properties: {
      temperature: positive('Mixture-weight temperature T: k ~ Cat(softmax(logits / T)). Default 1.3 (the paper, unguided).'),
      scale: positive('Component scale s: z = μ_k + s·σ_k·ε. Default 0.9.'),
    },
  }) as const;
const gmmTemperature = (description: string) =>
  ({
    type: 'object',
    additionalProperties: false,
    description,
    properties: { pi: positive('Logit temperature T_π.'), sigma: positive('σ multiplier T_σ.') },
  }) as const;

export const SAMPLERS = ['auto', 'decoupled', 'resampling-cfg', 'naive-cfg'] as const;
export const OUTPUT_FORMATS = ['json', 'png', 'grid'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The generate body as validated. */
export interface GenerateBody {
  count: number;
  labels?: number | number[] | null;
  seed?: number;
  imageSeeds?: (string | number)[];
  sampler?: SamplerName | 'auto';
  informative?: { temperature?: number; scale?: number };
  redundant?: { temperature?: number; scale?: number };
  cfg?: {
    w?: number;
    sc?: number;
    su?: number;
    proposal?: { pi?: number; sigma?: number };
    evaluation?: { pi?: number; sigma?: number };
    sharpen?: number;
    poolC?: number;
    poolU?: number;
    schedule?: GuidanceSchedule['kind'];
  };
  naive?: { w?: number; temperature?: number; scale?: number; maxStdRatio?: number };
  decoder?: 'flow' | 'student';
  redraws?: number;
  format?: OutputFormat;
}

export const modelParamsSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', pattern: MODEL_NAME_PATTERN, description: 'Model name, as listed by GET /v1/models.' } },
} as const;

/** The body schema; `maxCount` is the server's --max-count. */
export function generateBodySchema(maxCount: number) {
  const label = { type: 'integer', minimum: -1, description: 'A class in [0, numClasses − 1], or −1 for the null label.' } as const;
  return {
    type: 'object',
    additionalProperties: false,
    description: 'What to draw. Same seed and options ⇒ the same images as the library and the CLI on the same backend.',
    properties: {
      count: { type: 'integer', minimum: 1, maximum: maxCount, default: 1, description: `Images to draw (1..${maxCount}).` },
      labels: {
        description: 'One class for every image, one per image, or null/absent for unconditional samples.',
        anyOf: [label, { type: 'array', items: label, minItems: 1, maxItems: maxCount }, { type: 'null' }],
      },
      seed: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Request seed; image i draws from Rng(`${seed}:${i}`). Default: random (returned in the answer).' },
      imageSeeds: {
        type: 'array',
        maxItems: maxCount,
        description: 'Per-image seeds overriding `seed` (e.g. "5:3" redraws image 3 of seed 5 alone).',
        // Seeds are echoed in a response header, hence the plain character set.
        items: { anyOf: [{ type: 'string', pattern: '^[A-Za-z0-9:._+-]{1,64}$' }, { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }] },
      },
      sampler: { type: 'string', enum: SAMPLERS, description: "'auto': resampling CFG when labels are given and cfg.w > 0, else decoupled." },
      informative: decoupled('informative'),
      redundant: decoupled('redundant (default: as informative)'),
      cfg: {
        type: 'object',
        additionalProperties: false,
        description: 'Resampling CFG (paper Algorithm 1); defaults are the paper 1.1B-p16 row.',
        properties: {
          w: { type: 'number', minimum: 0, maximum: 20, description: 'Guidance weight w (default 2.5).' },
          sc: { type: 'integer', minimum: 1, maximum: 64, description: 'Informative candidates from G_c (default 5).' },
          su: { type: 'integer', minimum: 0, maximum: 64, description: 'Informative candidates from G_u (default 5).' },
          proposal: gmmTemperature('Proposal temperatures (default π 1.0, σ 0.9).'),
          evaluation: gmmTemperature('Evaluation temperatures (default π 0.2, σ 0.9).'),
          sharpen: positive('Sharpening T_s (default 1.1).'),
          poolC: { type: 'integer', minimum: 1, maximum: 1024, description: 'Redundant pool from G_c (default 64).' },
          poolU: { type: 'integer', minimum: 0, maximum: 1024, description: 'Redundant pool from G_u (default 64).' },
          schedule: { type: 'string', enum: ['constant', 'linear'], description: 'Guidance over tokens (default constant).' },
        },
      },
      naive: {
        type: 'object',
        additionalProperties: false,
        description: 'The naive CFG baseline (sampler naive-cfg).',
        properties: {
          w: { type: 'number', minimum: 0, maximum: 20, description: 'Guidance weight (default: cfg.w).' },
          temperature: positive('Mixture-weight temperature (default 1).'),
          scale: positive('σ scale (default 1).'),
          maxStdRatio: { type: 'number', minimum: 1, maximum: 1000, description: 'Widest accepted guided σ as a multiple of σc; wider dimensions use the conditional component (default 2).' },
        },
      },
      decoder: { type: 'string', enum: ['flow', 'student'], description: "AF inverse: 'flow' (exact) or 'student' (distilled; when the model has one)." },
      redraws: {
        type: 'integer',
        minimum: 0,
        maximum: 10,
        description: 'Fresh draws of an image whose latents the decoder cannot invert (non-finite), before answering 422 FARMER_E_NON_FINITE; listed in the answer\'s redrawn (default 3).',
      },
      format: {
        type: 'string',
        enum: OUTPUT_FORMATS,
        description: "'json': base64 PNGs with parameters and timings; 'png': image/png of the one image (count 1); 'grid': one image/png tiling all. Default: json, or png when Accept is image/png.",
      },
    },
  } as const;
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
      },
    },
    batch: {
      type: 'object',
      description: 'The job that drew these images: compatible requests queued together share one (and its timings); each still gets exactly the images it would get alone.',
      properties: { id: { type: 'integer' }, requests: { type: 'integer', description: 'Requests the job served.' } },
    },
  },
} as const;
