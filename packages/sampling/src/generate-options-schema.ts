import { JACOBI_DEFAULTS } from '@farmer/flow/browser';
import { z } from 'zod';
import { DEFAULT_BATCH_SIZE, DEFAULT_REDRAWS, NAIVE_CFG_DEFAULTS, PAPER_RESAMPLING_CFG, PAPER_UNGUIDED_DECOUPLED } from './sampler-defaults.js';

/*
 * The one declaration of generate's options: every option's name, type,
 * default, bounds and description, and how the surfaces spell it (the CLI
 * flag, the playground's URL key). The CLI's sampler flags, the server's
 * request schema and OpenAPI text, the playground's controls and the
 * queue's job check all derive from it (see generate-option-fields.ts);
 * adding an option is a change here plus the sampler that reads it.
 */

/** The samplers: docs/method.md §7.2 decoupled sampling, docs/method.md §7.4 resampling CFG and docs/method.md §7.8 naive CFG. */
export const SAMPLER_NAMES = ['decoupled', 'resampling-cfg', 'naive-cfg'] as const;

/** A sampler: decoupled GMM sampling, resampling CFG, or naive CFG (docs/method.md §7.2 decoupled sampling, docs/method.md §7.4 resampling CFG, docs/method.md §7.8 naive CFG). */
export type SamplerName = (typeof SAMPLER_NAMES)[number];

/** How a surface spells an option, beyond what the schema says of its value. */
export interface GenerateOptionMeta {
  /** The CLI flag without `--`, when it is not the option's path in kebab case (`cfg.poolC` → `cfg-pool-c`). */
  flag?: string;
  /** The playground's URL key; the page shows (and reads from its URL) only the options that have one. */
  url?: string;
  /** A short name for a form field (`guidance w`); absent: the option's path. */
  label?: string;
  /** The sampler(s) whose settings these are (the page shows them for those only); absent: every sampler. */
  samplers?: readonly SamplerName[];
  /** false for options that change how images are drawn but not which (batch size): a server sets them for every request, so its body has none. */
  perRequest?: false;
}

/** The surface spellings of the options, by schema node (read through `generateOptionFields`). */
export const GENERATE_OPTION_META = z.registry<GenerateOptionMeta>();

/** The bounds a server puts on requests from untrusted clients, on top of the library's own (what the math needs). */
export interface RequestCaps {
  /** Most images of one request (the server's --max-count). */
  maxCount: number;
}

/** The largest count, batch size or pool: counts are int32 in the runtimes. */
const MAX_INT = 2 ** 31 - 1;

/** Per-image seeds are echoed in a response header: a plain character set. */
export const IMAGE_SEED_PATTERN = /^[A-Za-z0-9:._+-]{1,64}$/;

/** `schema` described, with its surface spellings. */
function option<T extends z.ZodType>(schema: T, description: string, meta?: GenerateOptionMeta): T {
  const described = schema.describe(description) as T;
  if (meta) GENERATE_OPTION_META.add(described, meta);
  return described;
}

/**
 * The kinds of value of the options, each with the library's bounds (what
 * the math needs) or, given `caps`, a server's tighter ones on untrusted
 * requests.
 */
function valueKinds(caps?: RequestCaps) {
  const capped = caps !== undefined;
  return {
    capped,
    maxCount: caps?.maxCount ?? MAX_INT,
    // Temperatures and scales: the math needs > 0; a server keeps them in [0.01, 10], where no trained model overflows.
    positive: () => (capped ? z.number().min(0.01).max(10) : z.number().positive()),
    guidance: () => (capped ? z.number().min(0).max(20) : z.number().min(0)),
    candidates: (min: number) => z.number().int().min(min).max(capped ? 64 : MAX_INT),
    pool: (min: number) => z.number().int().min(min).max(capped ? 1024 : MAX_INT),
    // A ratio ≥ 1; Infinity (no bound) for the library, at most 1000 for a server (JSON has no Infinity).
    ratio: (d: number) => (capped ? z.number().min(1).max(1000).default(d) : z.union([z.number().min(1), z.literal(Infinity)]).default(d)),
    redraws: () => z.number().int().min(0).max(capped ? 10 : MAX_INT),
  };
}

type Kinds = ReturnType<typeof valueKinds>;

const T_TEXT = 'Mixture-weight temperature T: k ~ Cat(softmax(logits / T)); T > 1 flattens (diversity).';
const S_TEXT = 'Component scale s: z = μ_k + s·σ_k·ε; s < 1 concentrates each component (precision).';

/** Decoupled sampling of the informative head (the paper's unguided defaults) and of the redundant one (defaults: the informative's). */
function decoupledSchemas(k: Kinds) {
  const d = PAPER_UNGUIDED_DECOUPLED;
  const informative = z.strictObject({
    temperature: option(k.positive().default(d.temperature), T_TEXT, { flag: 'temperature', url: 'T', label: 'temperature T', samplers: ['decoupled'] }),
    scale: option(k.positive().default(d.scale), S_TEXT, { flag: 'scale', url: 's', label: 'scale s', samplers: ['decoupled'] }),
  });
  const redundant = z.strictObject({
    temperature: option(k.positive().optional(), `${T_TEXT} Default: the informative one.`, { url: 'Tr', label: 'redundant T', samplers: ['decoupled'] }),
    scale: option(k.positive().optional(), `${S_TEXT} Default: the informative one.`, { url: 'sr', label: 'redundant s', samplers: ['decoupled'] }),
  });
  return { informative, redundant };
}

/** Resampling CFG's settings (docs/method.md §7.4 resampling CFG) and the guidance schedule; defaults: the paper's 1.1B-p16 row. */
function cfgSchema(k: Kinds) {
  const d = PAPER_RESAMPLING_CFG;
  const temperatures = (which: 'proposal' | 'evaluation', flag: string, url: string) => {
    const role = which === 'proposal' ? 'the candidates are drawn with' : 'the candidates are scored with';
    return z.strictObject({
      pi: option(k.positive().default(d[which].pi), `Logit temperature T_π ${role}.`, { flag: `cfg-${flag}-pi`, url: `${url}T`, label: `${which} T_π`, samplers: ['resampling-cfg'] }),
      sigma: option(k.positive().default(d[which].sigma), `σ multiplier T_σ ${role}.`, { flag: `cfg-${flag}-sigma`, url: `${url}S`, label: `${which} T_σ`, samplers: ['resampling-cfg'] }),
    });
  };
  return z.strictObject({
    w: option(k.guidance().default(d.w), 'Guidance weight w: the target is ∝ p_c^(w+1) / p_u^w.', { url: 'w', label: 'guidance w', samplers: ['resampling-cfg', 'naive-cfg'] }),
    sc: option(k.candidates(1).default(d.sc), 'Informative step: candidates proposed from the class stream G_c.'),
    su: option(k.candidates(0).default(d.su), 'Informative step: candidates proposed from the null stream G_u.'),
    proposal: option(temperatures('proposal', 'proposal', 'p').prefault({}), 'Proposal temperatures (T_π, T_σ).'),
    evaluation: option(temperatures('evaluation', 'eval', 'e').prefault({}), 'Evaluation temperatures (T_π,v, T_σ,v).'),
    sharpen: option(k.positive().default(d.sharpen), 'Sharpening T_s: the candidate is drawn from softmax(T_s · log-weights).', { url: 'sharpen', label: 'sharpening T_s', samplers: ['resampling-cfg'] }),
    poolC: option(k.pool(1).default(d.poolC), 'Redundant step: pool drawn from the class stream.'),
    poolU: option(k.pool(0).default(d.poolU), 'Redundant step: pool drawn from the null stream.'),
    schedule: option(z.enum(['constant', 'linear']).default('constant'), 'Guidance over the tokens (docs/method.md §7.7 guidance schedule): constant, or linear from w/N to w.'),
  });
}

/** The naive CFG baseline's settings (docs/method.md §7.8 naive CFG). */
function naiveSchema(k: Kinds) {
  const d = NAIVE_CFG_DEFAULTS;
  return z.strictObject({
    w: option(k.guidance().optional(), 'Guidance weight. Default: cfg.w.'),
    temperature: option(k.positive().default(d.temperature), 'Temperature of the conditional mixture weights.', { url: 'T', label: 'temperature T', samplers: ['naive-cfg'] }),
    scale: option(k.positive().default(d.scale), 'σ scale of the guided Gaussian.', { url: 's', label: 'scale s', samplers: ['naive-cfg'] }),
    maxStdRatio: option(k.ratio(d.maxStdRatio), 'Widest accepted guided σ as a multiple of σc; wider dimensions use the conditional component (Infinity: keep every normalisable product).'),
  });
}

/** The decoder choices: the three inverses of the AF and 'auto' (resolved per runtime and batch size by `resolveDecoder`). */
export const DECODER_CHOICES = ['flow', 'jacobi', 'student', 'auto'] as const;

/** The Jacobi decoder's settings (docs/method.md §3.13 Jacobi decoding). */
function jacobiSchema(k: Kinds) {
  return z.strictObject({
    tolerance: option(
      (k.capped ? z.number().min(0).max(1) : z.number().min(0)).default(JACOBI_DEFAULTS.tolerance),
      'Stop a block (or module) when no value changed by more than this in the last pass; 0 runs every module to its exact cap.',
    ),
    maxIterations: option(
      z.number().int().min(1).max(k.capped ? 4096 : MAX_INT).optional(),
      "Most passes per block (or module). Default: the module's length, which is exact by construction; lower caps trade exactness for speed.",
    ),
    modules: option(
      z.number().int().min(1).max(k.capped ? 64 : MAX_INT).optional(),
      "Gauss-Seidel modules of the blocks the model's jacobi-plan.json marks tough. Default: the plan's.",
    ),
  });
}

/** The schema, with the server's caps when `caps` is given (see {@link servedGenerateOptionsSchema}). */
function buildSchema(caps?: RequestCaps) {
  const k = valueKinds(caps);
  const label = z.number().int().min(-1);
  const { informative, redundant } = decoupledSchemas(k);
  return z.strictObject({
    count: option(z.number().int().min(1).max(k.maxCount).optional(), 'Images to draw. Default: one per label when `labels` is a list, else 1.'),
    labels: option(
      z.union([label, z.array(label).min(1).max(k.maxCount), z.null()]).optional(),
      'A class in [0, numClasses − 1] for every image, or a list of one per image (−1: the null label); null or absent draws unconditional images.',
      { url: 'labels' },
    ),
    seed: option(
      z.number().int().min(0).optional(),
      'Seed of the request: image i draws from its own generator, seeded seedOf(seed, i) = "seed:i", so a batch gives each image the bytes it gets alone. Default 0 (a server draws one at random and returns it).',
      { url: 'seed' },
    ),
    imageSeeds: option(
      z.array(z.union([z.string().regex(IMAGE_SEED_PATTERN), z.number().int().min(0)])).max(k.maxCount).optional(),
      'Per-image seeds, one per image, overriding `seed` (e.g. "5:3" draws image 3 of seed 5 alone): integers, or 1 to 64 of A-Z a-z 0-9 : . _ + -.',
    ),
    sampler: option(
      z.enum(['auto', ...SAMPLER_NAMES]).default('auto'),
      "The sampler: 'auto' is resampling-cfg when labels are given and cfg.w > 0, else decoupled; naive-cfg is the baseline that resampling CFG replaces.",
      { url: 'sampler' },
    ),
    informative: option(informative.prefault({}), 'Decoupled sampling of the informative head (docs/method.md §7.2 decoupled sampling); defaults: the paper, unguided.'),
    redundant: option(redundant.optional(), 'Decoupled sampling of the redundant head; each setting defaults to the informative one.'),
    cfg: option(cfgSchema(k).prefault({}), "Resampling CFG (docs/method.md §7.4 resampling CFG, the paper's Algorithm 1); defaults: the paper's 1.1B-p16 row.", { samplers: ['resampling-cfg'] }),
    naive: option(naiveSchema(k).prefault({}), 'The naive CFG baseline (docs/method.md §7.8 naive CFG).', { samplers: ['naive-cfg'] }),
    decoder: option(
      z.enum(DECODER_CHOICES).default('flow'),
      "AF inverse: 'flow' (the exact sequential inverse, KV-cached), 'jacobi' (GS-Jacobi iteration, all tokens of a block at once; exact to the tolerance), 'student' (distilled, one pass; when the model has one) or 'auto' (the fastest exact decoder for the batch size on the runtime: see docs/method.md §3.13 Jacobi decoding).",
      { url: 'decoder' },
    ),
    jacobi: option(jacobiSchema(k).prefault({}), "The 'jacobi' decoder (docs/method.md §3.13 Jacobi decoding): stopping tolerance, iteration cap, Gauss-Seidel modules."),
    redraws: option(
      k.redraws().default(DEFAULT_REDRAWS),
      'Fresh draws of an image whose latents the decoder cannot invert (non-finite), before giving up with FARMER_E_NON_FINITE; 0: give up at the first.',
    ),
    batchSize: option(z.number().int().min(1).max(MAX_INT).default(DEFAULT_BATCH_SIZE), 'Images per pass. Changes speed and memory, never the images.', { url: 'batch', perRequest: false }),
  });
}

/**
 * The generate options with the library's bounds (what the math needs):
 * what {@link generate} validates, the CLI derives its flags from, the
 * playground its controls from, and the queue checks its jobs with.
 * Parsing fills every static default; the ones that depend on other
 * options (count, the redundant settings, naive.w, sampler 'auto') are
 * filled by `resolveGenerateOptions`.
 */
export const GENERATE_OPTIONS_SCHEMA = buildSchema();

/**
 * The same schema with a server's caps on untrusted requests: count and
 * list lengths ≤ `maxCount`, temperatures and scales in [0.01, 10],
 * w ≤ 20, sc and su ≤ 64, pools ≤ 1024, naive.maxStdRatio ≤ 1000,
 * redraws ≤ 10. The server's request JSON schema is derived from it.
 */
export function servedGenerateOptionsSchema(caps: RequestCaps): typeof GENERATE_OPTIONS_SCHEMA {
  return buildSchema(caps);
}

/** The data options of generate as a caller gives them (every field optional). */
export type GenerateOptionsInput = z.input<typeof GENERATE_OPTIONS_SCHEMA>;

/** The data options after parsing: static defaults filled in. */
export type ParsedGenerateOptions = z.output<typeof GENERATE_OPTIONS_SCHEMA>;
