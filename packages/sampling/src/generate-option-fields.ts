import type { z } from 'zod';
import { GENERATE_OPTION_META, GENERATE_OPTIONS_SCHEMA, type GenerateOptionMeta, type GenerateOptionsInput, type SamplerName } from './generate-options-schema.js';
import { describeOptionIssue } from './parse-options.js';

/** What kind of value an option takes, for a surface that reads it from text (a flag, a URL). */
export type GenerateOptionKind = 'number' | 'integer' | 'choice' | 'labels' | 'seeds';

/**
 * One option of the generate-options schema, flattened for a surface that
 * lists options one by one: the CLI's flags, the playground's controls.
 */
export interface GenerateOptionField {
  /** The dotted path, `cfg.proposal.pi`. */
  key: string;
  path: readonly string[];
  /** The option's own schema (its bounds and default). */
  schema: z.ZodType;
  kind: GenerateOptionKind;
  /** The allowed values of a 'choice'. */
  choices?: readonly string[];
  /** The static default, when it has one (others are described in `description`). */
  defaultValue?: unknown;
  description: string;
  /** The CLI flag without `--`. */
  flag: string;
  /** The playground's URL key, when the page shows the option. */
  url?: string;
  /** A short name for a form field. */
  label: string;
  /** The sampler(s) whose settings these are; absent: every sampler. */
  samplers?: readonly SamplerName[];
  /** false for run-wide options (batch size) that a server sets for every request. */
  perRequest: boolean;
}

type Def = { type: string; innerType?: z.ZodType; defaultValue?: unknown; options?: z.ZodType[]; entries?: Record<string, string>; shape?: Record<string, z.ZodType> };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under its optional/default/prefault wrappers, and its static default. */
function unwrap(schema: z.ZodType): { core: z.ZodType; defaultValue?: unknown } {
  let core = schema;
  let defaultValue: unknown;
  for (let d = defOf(core); ['optional', 'default', 'prefault', 'nullable'].includes(d.type); d = defOf(core)) {
    if (d.type === 'default') defaultValue = d.defaultValue;
    core = d.innerType!;
  }
  return { core, defaultValue };
}

function kindOf(core: z.ZodType): { kind: GenerateOptionKind; choices?: string[] } {
  const d = defOf(core);
  if (d.type === 'enum') return { kind: 'choice', choices: Object.values(d.entries!) };
  if (d.type === 'array') return { kind: 'seeds' };
  if (d.type === 'union') return d.options!.some((o) => defOf(o).type === 'array') ? { kind: 'labels' } : { kind: 'number' };
  return { kind: (core as z.ZodNumber).isInt ? 'integer' : 'number' };
}

const kebab = (path: readonly string[]): string => path.map((p) => p.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join('-');

/**
 * Every option of `schema` (default: {@link GENERATE_OPTIONS_SCHEMA}) as a
 * flat list, in the schema's order, with its CLI flag (the path in kebab
 * case unless the schema names another), URL key and samplers.
 */
export function generateOptionFields(schema: z.ZodType = GENERATE_OPTIONS_SCHEMA): GenerateOptionField[] {
  const out: GenerateOptionField[] = [];
  const walk = (node: z.ZodType, path: string[], inherited: GenerateOptionMeta): void => {
    const meta: GenerateOptionMeta = { samplers: inherited.samplers, ...GENERATE_OPTION_META.get(node) };
    const { core, defaultValue } = unwrap(node);
    const d = defOf(core);
    if (d.type === 'object') {
      for (const [k, child] of Object.entries(d.shape!)) walk(child, [...path, k], { samplers: meta.samplers });
      return;
    }
    out.push({
      key: path.join('.'),
      path,
      schema: node,
      ...kindOf(core),
      ...(defaultValue === undefined ? {} : { defaultValue }),
      description: node.description ?? '',
      flag: meta.flag ?? kebab(path),
      ...(meta.url === undefined ? {} : { url: meta.url }),
      label: meta.label ?? path.join('.'),
      ...(meta.samplers === undefined ? {} : { samplers: meta.samplers }),
      perRequest: meta.perRequest !== false,
    });
  };
  walk(schema, [], {});
  return out;
}

/** Why `value` is not a valid `field` ("must be ≥ 0, got -1"; "[1] must be …" for an entry of a list), or null when it is. */
export function generateOptionProblem(field: GenerateOptionField, value: unknown): string | null {
  const r = field.schema.safeParse(value);
  if (r.success) return null;
  const { field: entry, problem } = describeOptionIssue(r.error.issues[0], value);
  return entry ? `${entry} ${problem}` : problem;
}

/** Options from values keyed by field key (`{ 'cfg.w': 1.5 }` → `{ cfg: { w: 1.5 } }`); undefined values are left out. */
export function generateOptionsFromValues(values: Readonly<Record<string, unknown>>): GenerateOptionsInput {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const path = key.split('.');
    let at = out;
    for (const p of path.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    at[path[path.length - 1]] = value;
  }
  return out as GenerateOptionsInput;
}
