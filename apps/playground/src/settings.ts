import type { Decoder } from '@farmer/ar-gmm/browser';
import { generateOptionFields, generateOptionProblem, generateOptionsFromValues, SAMPLER_NAMES, type GenerateOptionField, type GenerateOptions, type SamplerName } from '@farmer/sampling';
import { BUILTIN_MODELS, builtinOf } from './builtin-models.js';
import { PageError } from './page-error.js';
import { PROVIDER_REQUESTS, type ProviderRequest } from './ort-web.js';

/*
 * The page's controls and URL parameters derive from @farmer/sampling's
 * generate-options schema (issue 29): the page shows the options the schema
 * gives a URL key, checks each value with the option's own schema, and
 * re-declares none. It has its own fixed controls for labels, seed, sampler,
 * decoder and batch size, and a number field for each setting of the
 * chosen sampler.
 */

/** The generate options the page shows: those the schema gives a URL key. */
export const PAGE_FIELDS: readonly GenerateOptionField[] = generateOptionFields().filter((f) => f.url !== undefined);

/** The samplers' settings, shown as number fields for the sampler(s) each belongs to (a URL key may name one setting per sampler). */
export const NUMBER_FIELDS: readonly GenerateOptionField[] = PAGE_FIELDS.filter((f) => f.samplers !== undefined);

function field(key: string): GenerateOptionField {
  const f = PAGE_FIELDS.find((x) => x.key === key);
  if (!f) throw new Error(`internal: the page shows no generate option '${key}'`);
  return f;
}

/** The fixed controls' options, with their URL keys from the schema. */
const LABELS = field('labels');
const SEED = field('seed');
const SAMPLER = field('sampler');
const DECODER = field('decoder');
const BATCH = field('batchSize');

/** The URL keys of the fixed controls' options, from the schema. */
export const FIXED_PARAMS = Object.freeze({ labels: LABELS.url!, seed: SEED.url!, sampler: SAMPLER.url!, decoder: DECODER.url!, batchSize: BATCH.url! });

/**
 * Everything the page's controls set, as the URL carries it (`?labels=7,3,0&seed=1&…`),
 * so a result can be shared and drawn again. Sampler numbers left out take
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
  decoder: Decoder;
  batchSize: number;
  /** The sampler settings given, by URL key (see {@link NUMBER_FIELDS}); each applies to the chosen sampler's option of that key. */
  numbers: Readonly<Record<string, number>>;
}

/** The samplers the page offers ('auto' is left to the CLI and the server: the page always says which). */
export const SAMPLERS: readonly SamplerName[] = SAMPLER_NAMES;

/** The page's defaults: the built-in model, labels 7, 3 and 0, seed 1, resampling CFG at the paper's settings, the exact flow decoder. */
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  model: 'builtin',
  provider: 'auto',
  labels: [7, 3, 0],
  seed: 1,
  sampler: 'resampling-cfg',
  decoder: 'flow',
  batchSize: BATCH.defaultValue as number,
  numbers: Object.freeze({}),
});

/** The most images one run draws (the page holds them all). */
export const MAX_IMAGES = 64;

function bad(param: string, message: string): never {
  throw new PageError('FARMER_E_BAD_INPUT', `${param} ${message}`);
}

/** `value` checked against option `f`'s schema; a PageError names the URL parameter `param`. */
function checked<T>(f: GenerateOptionField, param: string, value: T): T {
  const problem = generateOptionProblem(f, value);
  if (problem) bad(param, problem);
  return value;
}

function number(param: string, raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || Number.isNaN(v)) bad(param, `must be a number, got '${raw}'`);
  return v;
}

/** Parses a labels field: classes separated by commas or spaces, -1 for none; at most MAX_IMAGES. */
export function parseLabels(raw: string): number[] {
  const parts = raw.split(/[\s,]+/).filter((p) => p !== '');
  if (!parts.length) bad(LABELS.url!, 'must name at least one class (or -1 for an unconditional image)');
  if (parts.length > MAX_IMAGES) bad(LABELS.url!, `may name at most ${MAX_IMAGES} images, got ${parts.length}`);
  // The model's range is checked by generate(), which knows its classes.
  return checked(LABELS, LABELS.url!, parts.map((p) => number(LABELS.url!, p)));
}

/** The model parameter: a built-in, a served model, an export URL or picked files. */
function parseModel(model: string): string {
  if (!(builtinOf(model) || model === 'files' || /^served:[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(model) || /^url:.+/.test(model)))
    bad('model', `must be builtin, ${BUILTIN_MODELS.map((m) => `builtin:${m}`).join(', ')}, served:NAME or url:URL, got '${model}'`);
  // One spelling per model, so the model menu has one entry for it.
  return builtinOf(model) === BUILTIN_MODELS[0] ? 'builtin' : model;
}

/**
 * Settings from a URL query, over the defaults. A malformed or out-of-range
 * value is a PageError naming the parameter (the page shows it), never a
 * silent default.
 */
export function settingsFromQuery(query: URLSearchParams): Settings {
  const s: Settings = { ...DEFAULT_SETTINGS, labels: [...DEFAULT_SETTINGS.labels], numbers: {} };
  const get = (k: string) => query.get(k) ?? undefined;
  const model = get('model');
  if (model !== undefined) s.model = parseModel(model);
  const provider = get('ep');
  if (provider !== undefined) {
    if (!(PROVIDER_REQUESTS as readonly string[]).includes(provider)) bad('ep', `must be one of ${PROVIDER_REQUESTS.join(', ')}, got '${provider}'`);
    s.provider = provider as ProviderRequest;
  }
  const labels = get(LABELS.url!);
  if (labels !== undefined) s.labels = parseLabels(labels);
  const seed = get(SEED.url!);
  if (seed !== undefined) s.seed = checked(SEED, SEED.url!, number(SEED.url!, seed));
  const sampler = get(SAMPLER.url!);
  if (sampler !== undefined) {
    if (!(SAMPLERS as readonly string[]).includes(sampler)) bad(SAMPLER.url!, `must be one of ${SAMPLERS.join(', ')}, got '${sampler}'`);
    s.sampler = sampler as SamplerName;
  }
  const numbers: Record<string, number> = {};
  for (const f of NUMBER_FIELDS) {
    const v = get(f.url!);
    if (v !== undefined && v !== '') numbers[f.url!] = checked(f, f.url!, number(f.url!, v));
  }
  s.numbers = numbers;
  const decoder = get(DECODER.url!);
  if (decoder !== undefined) s.decoder = checked(DECODER, DECODER.url!, decoder) as Decoder;
  const batch = get(BATCH.url!);
  if (batch !== undefined) {
    s.batchSize = checked(BATCH, BATCH.url!, number(BATCH.url!, batch));
    if (s.batchSize > MAX_IMAGES) bad(BATCH.url!, `must be ≤ ${MAX_IMAGES} (the page holds every image), got ${s.batchSize}`);
  }
  return s;
}

/** The URL query of settings: every field that differs from the defaults. */
export function settingsToQuery(s: Settings): URLSearchParams {
  const q = new URLSearchParams();
  const d = DEFAULT_SETTINGS;
  if (s.model !== d.model) q.set('model', s.model);
  if (s.provider !== d.provider) q.set('ep', s.provider);
  q.set(LABELS.url!, s.labels.join(','));
  q.set(SEED.url!, String(s.seed));
  q.set(SAMPLER.url!, s.sampler);
  for (const [param, v] of Object.entries(s.numbers)) q.set(param, String(v));
  if (s.decoder !== d.decoder) q.set(DECODER.url!, s.decoder);
  if (s.batchSize !== d.batchSize) q.set(BATCH.url!, String(s.batchSize));
  return q;
}

/** The number fields of a sampler: the settings of that sampler the page shows. */
export function numberFieldsOf(sampler: SamplerName): GenerateOptionField[] {
  return NUMBER_FIELDS.filter((f) => f.samplers!.includes(sampler));
}

/** The library options of settings (numbers left out take the library's defaults). */
export function generateOptionsOf(s: Settings): GenerateOptions {
  const values: Record<string, unknown> = { [LABELS.key]: s.labels, [SEED.key]: s.seed, [SAMPLER.key]: s.sampler, [DECODER.key]: s.decoder, [BATCH.key]: s.batchSize };
  for (const f of numberFieldsOf(s.sampler)) values[f.key] = s.numbers[f.url!];
  return generateOptionsFromValues(values);
}
