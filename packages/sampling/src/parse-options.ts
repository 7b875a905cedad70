import { FarmerError } from '@farmer/core/browser';
import type { z } from 'zod';

/*
 * Options checked against their zod schema, with the errors the samplers
 * always gave: FARMER_E_BAD_INPUT naming the field (`cfg.proposal.pi`,
 * `labels[1]`) and what is allowed, the field and the value in its details,
 * so the CLI and the server can point at the flag or the body field.
 */

type Issue = z.core.$ZodIssue;

/** `['cfg', 'proposal', 'pi']` → `cfg.proposal.pi`, `['labels', 1]` → `labels[1]`. */
export function optionField(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

const TYPE_NAMES: Readonly<Record<string, string>> = { number: 'a number', int: 'an integer', string: 'a string', array: 'a list', object: 'an object', null: 'null' };

/** Of a union's failed branches, the issue that says the most: the deepest, and not a type mismatch when another says more. */
function mostSpecific(issue: Issue & { code: 'invalid_union' }): Issue {
  const all = issue.errors.flat();
  const score = (i: Issue) => i.path.length * 2 + (i.code === 'invalid_type' ? 0 : 1);
  const best = all.reduce<Issue | undefined>((b, i) => (b === undefined || score(i) > score(b) ? i : b), undefined);
  return best ? { ...best, path: [...issue.path, ...best.path] } : issue;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

const shown = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `[${v.join(', ')}]` : String(v));

/** What is wrong, as "must be …, got …", and the field it is about. */
export function describeOptionIssue(raw: Issue, input: unknown): { field: string; problem: string; value: unknown } {
  const issue = raw.code === 'invalid_union' ? mostSpecific(raw) : raw;
  if (issue.code === 'unrecognized_keys') {
    const field = optionField([...issue.path, issue.keys[0]]);
    return { field, problem: 'is not an option', value: valueAt(input, [...issue.path, issue.keys[0]]) };
  }
  const value = valueAt(input, issue.path);
  const field = optionField(issue.path);
  let must: string;
  switch (issue.code) {
    case 'invalid_type':
      must = `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
      break;
    case 'too_small':
      must = issue.origin === 'array' ? `must have at least ${issue.minimum} entries` : `must be ${issue.inclusive ? '≥' : '>'} ${issue.minimum}`;
      break;
    case 'too_big':
      must = issue.origin === 'array' ? `must have at most ${issue.maximum} entries` : `must be ${issue.inclusive ? '≤' : '<'} ${issue.maximum}`;
      break;
    case 'invalid_value':
      must = `must be one of ${issue.values.map(String).join(', ')}`;
      break;
    case 'invalid_format':
      must = issue.format === 'regex' ? `must match ${(issue as { pattern?: string }).pattern}` : `must be a ${issue.format}`;
      break;
    default:
      must = `is invalid (${issue.message})`;
  }
  return { field, problem: `${must}, got ${shown(value)}`, value };
}

/**
 * `input` parsed by `schema` (defaults filled in), or FARMER_E_BAD_INPUT
 * "`where`: `field` must be …, got …" with `{ field, value }` in its
 * details, for the first problem found.
 */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, where: string, prefix: readonly string[] = []): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const { field, problem, value } = describeOptionIssue(r.error.issues[0], input);
  const named = optionField([...prefix, ...(field ? [field] : [])]);
  throw new FarmerError('FARMER_E_BAD_INPUT', `${where}: ${named || 'options'} ${problem}`, { field: named, value });
}
