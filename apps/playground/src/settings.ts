import type { Decoder } from '@farmer/ar-gmm/browser';
import type { GenerateOptions, SamplerName } from '@farmer/sampling';
import { BUILTIN_MODELS, builtinOf } from './builtin-models.js';
import { PageError } from './page-error.js';
import { PROVIDER_REQUESTS, type ProviderRequest } from './ort-web.js';

/**
 * Everything the page's controls set, as the URL carries it (`?labels=7,3,0&seed=1&…`),
 * so a result can be shared and drawn again. Sampler numbers left undefined take
 * @farmer/sampling's defaults (the paper's), exactly as `farmer sample` does.
 */
export interface Settings {
  /** 'builtin' (= builtin:mnist-small), 'builtin:NAME', 'served:NAME' (a model of `farmer serve`), 'url:URL' (an export folder) or 'files' (picked; not shareable). */
  model: string;
  provider: ProviderRequest;
  /** One image per entry: a class, or -1 for none (unconditional). */
  labels: number[];
  seed: number;
  sampler: SamplerName;
  /** Guidance w (resampling and naive CFG). */
  w?: number;
  /** Decoupled / naive CFG: mixture temperature T and component scale s of the informative tokens. */
  temperature?: number;
  scale?: number;
  /** Decoupled: the same for the redundant channels (default: the informative ones). */
  redundantTemperature?: number;
  redundantScale?: number;
  /** Resampling CFG: proposal (T_π, T_σ) and evaluation (T_π,v, T_σ,v) temperatures, sharpening T_s. */
  proposalPi?: number;
  proposalSigma?: number;
  evaluationPi?: number;
  evaluationSigma?: number;
  sharpen?: number;
  decoder: Decoder;
  batchSize: number;
}

export const SAMPLERS: readonly SamplerName[] = ['resampling-cfg', 'naive-cfg', 'decoupled'];

/** The page's defaults: the built-in model, labels 7, 3 and 0, seed 1, resampling CFG at the paper's settings, the exact flow decoder. */
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  model: 'builtin',
  provider: 'auto',
  labels: [7, 3, 0],
  seed: 1,
  sampler: 'resampling-cfg',
  decoder: 'flow',
  batchSize: 16,
});

/** The optional numbers, their URL keys and the sampler that reads each. */
export const NUMBER_FIELDS = [
  { key: 'w', param: 'w', label: 'guidance w', samplers: ['resampling-cfg', 'naive-cfg'] },
  { key: 'temperature', param: 'T', label: 'temperature T', samplers: ['decoupled', 'naive-cfg'] },
  { key: 'scale', param: 's', label: 'scale s', samplers: ['decoupled', 'naive-cfg'] },
  { key: 'redundantTemperature', param: 'Tr', label: 'redundant T', samplers: ['decoupled'] },
  { key: 'redundantScale', param: 'sr', label: 'redundant s', samplers: ['decoupled'] },
  { key: 'proposalPi', param: 'pT', label: 'proposal T_π', samplers: ['resampling-cfg'] },
  { key: 'proposalSigma', param: 'pS', label: 'proposal T_σ', samplers: ['resampling-cfg'] },
  { key: 'evaluationPi', param: 'eT', label: 'evaluation T_π', samplers: ['resampling-cfg'] },
  { key: 'evaluationSigma', param: 'eS', label: 'evaluation T_σ', samplers: ['resampling-cfg'] },
  { key: 'sharpen', param: 'sharpen', label: 'sharpening T_s', samplers: ['resampling-cfg'] },
] as const satisfies readonly { key: keyof Settings; param: string; label: string; samplers: readonly SamplerName[] }[];

/** The most images one run draws (the page holds them all). */
export const MAX_IMAGES = 64;

function bad(field: string, message: string): never {
  throw new PageError('FARMER_E_BAD_INPUT', `${field} ${message}`);
}

function number(field: string, raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) bad(field, `must be a number, got '${raw}'`);
  return v;
}

function integer(field: string, raw: string, min: number, max: number): number {
  const v = number(field, raw);
  if (!Number.isInteger(v) || v < min || v > max) bad(field, `must be an integer in [${min}, ${max}], got ${raw}`);
  return v;
}

/** Parses a labels field: classes separated by commas or spaces, -1 for none; at most MAX_IMAGES. */
export function parseLabels(raw: string): number[] {
  const parts = raw.split(/[\s,]+/).filter((p) => p !== '');
  if (!parts.length) bad('labels', 'must name at least one class (or -1 for an unconditional image)');
  if (parts.length > MAX_IMAGES) bad('labels', `may name at most ${MAX_IMAGES} images, got ${parts.length}`);
  // The model's range is checked by generate(), which knows its classes.
  return parts.map((p, i) => integer(`labels[${i}]`, p, -1, Number.MAX_SAFE_INTEGER));
}

/**
 * Settings from a URL query, over the defaults. A malformed or out-of-range
 * value is a PageError naming the parameter (the page shows it), never a
 * silent default.
 */
export function settingsFromQuery(query: URLSearchParams): Settings {
  const s: Settings = { ...DEFAULT_SETTINGS, labels: [...DEFAULT_SETTINGS.labels] };
  const get = (k: string) => query.get(k) ?? undefined;
  const model = get('model');
  if (model !== undefined) {
    if (!(builtinOf(model) || model === 'files' || /^served:[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(model) || /^url:.+/.test(model)))
      bad('model', `must be builtin, ${BUILTIN_MODELS.map((m) => `builtin:${m}`).join(', ')}, served:NAME or url:URL, got '${model}'`);
    // One spelling per model, so the model menu has one entry for it.
    s.model = builtinOf(model) === BUILTIN_MODELS[0] ? 'builtin' : model;
  }
  const provider = get('ep');
  if (provider !== undefined) {
    if (!(PROVIDER_REQUESTS as readonly string[]).includes(provider)) bad('ep', `must be one of ${PROVIDER_REQUESTS.join(', ')}, got '${provider}'`);
    s.provider = provider as ProviderRequest;
  }
  const labels = get('labels');
  if (labels !== undefined) s.labels = parseLabels(labels);
  const seed = get('seed');
  if (seed !== undefined) s.seed = integer('seed', seed, 0, Number.MAX_SAFE_INTEGER);
  const sampler = get('sampler');
  if (sampler !== undefined) {
    if (!(SAMPLERS as readonly string[]).includes(sampler)) bad('sampler', `must be one of ${SAMPLERS.join(', ')}, got '${sampler}'`);
    s.sampler = sampler as SamplerName;
  }
  for (const f of NUMBER_FIELDS) {
    const v = get(f.param);
    if (v !== undefined && v !== '') s[f.key] = number(f.param, v);
  }
  const decoder = get('decoder');
  if (decoder !== undefined) {
    if (decoder !== 'flow' && decoder !== 'student') bad('decoder', `must be flow or student, got '${decoder}'`);
    s.decoder = decoder;
  }
  const batch = get('batch');
  if (batch !== undefined) s.batchSize = integer('batch', batch, 1, MAX_IMAGES);
  return s;
}

/** The URL query of settings: every field that differs from the defaults. */
export function settingsToQuery(s: Settings): URLSearchParams {
  const q = new URLSearchParams();
  const d = DEFAULT_SETTINGS;
  if (s.model !== d.model) q.set('model', s.model);
  if (s.provider !== d.provider) q.set('ep', s.provider);
  q.set('labels', s.labels.join(','));
  q.set('seed', String(s.seed));
  q.set('sampler', s.sampler);
  for (const f of NUMBER_FIELDS) if (s[f.key] !== undefined) q.set(f.param, String(s[f.key]));
  if (s.decoder !== d.decoder) q.set('decoder', s.decoder);
  if (s.batchSize !== d.batchSize) q.set('batch', String(s.batchSize));
  return q;
}

/** The library options of settings (undefined numbers take the library's defaults). */
export function generateOptionsOf(s: Settings): GenerateOptions {
  const pair = (temperature?: number, scale?: number) => (temperature === undefined && scale === undefined ? undefined : { temperature, scale });
  const temp = (pi?: number, sigma?: number) => (pi === undefined && sigma === undefined ? undefined : { pi, sigma });
  return {
    count: s.labels.length,
    labels: s.labels,
    seed: s.seed,
    sampler: s.sampler,
    decoder: s.decoder,
    batchSize: s.batchSize,
    ...(s.sampler === 'decoupled' ? { informative: pair(s.temperature, s.scale), redundant: pair(s.redundantTemperature ?? s.temperature, s.redundantScale ?? s.scale) } : {}),
    ...(s.sampler === 'naive-cfg' ? { naive: { w: s.w, temperature: s.temperature, scale: s.scale } } : {}),
    ...(s.sampler !== 'decoupled' ? { cfg: { w: s.w, proposal: temp(s.proposalPi, s.proposalSigma), evaluation: temp(s.evaluationPi, s.evaluationSigma), sharpen: s.sharpen } } : {}),
  };
}
