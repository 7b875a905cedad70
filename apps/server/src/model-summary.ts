import { className, FarmerModel, farmerDims, modelBackground } from '@farmer/ar-gmm';
import { resolveGenerateOptions } from '@farmer/sampling';
import { publicMessage, type ModelEntry } from './model-registry.js';

/** What GET /v1/models says about one model. */
export interface ModelSummary {
  name: string;
  status: ModelEntry['status'];
  error?: { code: string; message: string };
  runtime?: string;
  decoders?: string[];
  likelihood?: boolean;
  config?: {
    imageSize: number;
    channels: number;
    patchSize: number;
    numTokens: number;
    tokenDim: number;
    informativeDim: number;
    params: { flow: number; ar: number; total: number };
    /** RGB 0..255 that transparent pixels of an uploaded PNG are composited on (docs/method.md §2.6 Transparency). */
    background: number[];
  };
  /** numClasses; 0: unconditional. */
  numClasses?: number;
  /** Valid labels: 0..numClasses−1, and −1 (the null label). */
  classes?: number[];
  /** Name of each class, in label order: the model config's class names, else the label numbers. */
  classNames?: string[];
  /** Sampler defaults as the library resolves them (paper values). */
  defaults?: Record<string, unknown>;
}

/** A model's summary; the defaults come from the library's own resolution, not a copy of its constants. */
export function summarizeModel(entry: ModelEntry): ModelSummary {
  const base: ModelSummary = { name: entry.name, status: entry.status };
  // Clients see the model by name, not the server's directory layout (the log has the full paths).
  if (entry.status === 'failed' && entry.error) base.error = { code: entry.error.code, message: publicMessage(entry.error.message, entry) };
  const runner = entry.runner;
  if (entry.status !== 'ready' || !runner) return base;
  const c = runner.config;
  const dims = farmerDims(c);
  const conditional = c.numClasses > 0;
  const plain = resolveGenerateOptions(runner, { count: 1, labels: null });
  const defaults: Record<string, unknown> = {
    sampler: 'auto',
    decoder: plain.decoder,
    informative: plain.informative,
    redundant: plain.redundant,
  };
  if (conditional) {
    defaults.cfg = resolveGenerateOptions(runner, { count: 1, labels: 0, sampler: 'resampling-cfg' }).cfg;
    defaults.naive = resolveGenerateOptions(runner, { count: 1, labels: 0, sampler: 'naive-cfg' }).naive;
  }
  return {
    ...base,
    runtime: runner.runtime,
    decoders: [...runner.decoders],
    likelihood: entry.likelihood !== undefined,
    config: {
      imageSize: c.flow.imageSize,
      channels: c.flow.inChannels,
      patchSize: c.flow.patchSize,
      numTokens: dims.numTokens,
      tokenDim: dims.tokenDim,
      informativeDim: dims.dI,
      params: FarmerModel.countParams(c),
      background: [...modelBackground(c)],
    },
    numClasses: c.numClasses,
    classes: Array.from({ length: c.numClasses }, (_, i) => i),
    classNames: Array.from({ length: c.numClasses }, (_, i) => className(c, i)),
    defaults,
  };
}

const num = { type: 'number' } as const;
const int = { type: 'integer' } as const;

/** JSON schema of {@link ModelSummary}. */
export const modelSummarySchema = {
  $id: 'ModelSummary',
  type: 'object',
  required: ['name', 'status'],
  properties: {
    name: { type: 'string' },
    status: { type: 'string', enum: ['loading', 'ready', 'failed'] },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
    runtime: { type: 'string' },
    decoders: { type: 'array', items: { type: 'string' } },
    likelihood: { type: 'boolean', description: 'Whether POST …/likelihood works for this model.' },
    config: {
      type: 'object',
      properties: {
        imageSize: int,
        channels: int,
        patchSize: int,
        numTokens: int,
        tokenDim: int,
        informativeDim: int,
        params: { type: 'object', properties: { flow: int, ar: int, total: int } },
        background: { type: 'array', items: int, minItems: 3, maxItems: 3, description: 'RGB 0..255 that transparent pixels of an uploaded PNG are composited on: the background of the training images (black unless the model records another).' },
      },
    },
    numClasses: int,
    classes: { type: 'array', items: int },
    classNames: { type: 'array', items: { type: 'string' }, description: "Each class's name, in label order (the label number when the model names none)." },
    defaults: {
      type: 'object',
      additionalProperties: true,
      description: 'Sampler defaults: sampler, decoder, informative/redundant {temperature, scale}, cfg and naive (conditional models).',
      properties: { sampler: { type: 'string' }, decoder: { type: 'string' }, informative: { type: 'object', properties: { temperature: num, scale: num } } },
    },
  },
} as const;
