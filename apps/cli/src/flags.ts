import { Option } from 'commander';
import type { z } from 'zod';
import { BLACK_BACKGROUND, WHITE_BACKGROUND, type Background } from '@farmer/core';
import { UsageError } from './errors.js';

/** Parses an integer flag value, naming the flag in the error. */
export function intFlag(flag: string, min = -Infinity, max = Infinity) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new UsageError(`${flag} takes an integer, got '${value}'`);
    if (n < min || n > max) throw new UsageError(`${flag} must be ${max === Infinity ? `≥ ${min}` : `in [${min}, ${max}]`}, got ${n}`);
    return n;
  };
}

/** Parses a number flag value, naming the flag in the error. */
export function numberFlag(flag: string, opts: { min?: number; exclusiveMin?: boolean; max?: number } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} takes a number, got '${value}'`);
    if (opts.min !== undefined && (opts.exclusiveMin ? n <= opts.min : n < opts.min)) throw new UsageError(`${flag} must be ${opts.exclusiveMin ? '>' : '≥'} ${opts.min}, got ${n}`);
    if (opts.max !== undefined && n > opts.max) throw new UsageError(`${flag} must be ≤ ${opts.max}, got ${n}`);
    return n;
  };
}

/**
 * Parses a comma-separated list of integers. With `schema` (the library's
 * schema of the option, the one definition of its bounds), the list must
 * also pass it; the UsageError names the flag and the failing entry.
 */
export function intListFlag(flag: string, schema?: z.ZodType) {
  return (value: string): number[] => {
    const list = value.split(',').map((v) => {
      const s = v.trim();
      if (!/^-?\d+$/.test(s)) throw new UsageError(`${flag} takes comma-separated integers, got '${value}'`);
      return Number(s);
    });
    const r = schema?.safeParse(list);
    if (r && !r.success) {
      const problems = r.error.issues.map((i) => (typeof i.path[0] === 'number' ? `entry ${i.path[0] + 1} (${list[i.path[0]]}): ${i.message}` : i.message));
      throw new UsageError(`${flag} ${problems.join('; ')}, got '${value}'`);
    }
    return list;
  };
}

/** Parses a comma-separated list of numbers. */
export function numberListFlag(flag: string) {
  return (value: string): number[] =>
    value.split(',').map((v) => {
      const n = Number(v.trim());
      if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} takes comma-separated numbers, got '${value}'`);
      return n;
    });
}

/** Parses a comma-separated list of non-empty names. */
export function nameListFlag(flag: string) {
  return (value: string): string[] => {
    const names = value.split(',').map((v) => v.trim());
    if (names.some((n) => n === '')) throw new UsageError(`${flag} takes comma-separated non-empty names, got '${value}'`);
    return names;
  };
}

/** The colour names {@link backgroundFlag} takes besides `#rrggbb`. */
const NAMED_BACKGROUNDS: Record<string, Background> = { black: BLACK_BACKGROUND, white: WHITE_BACKGROUND };

/**
 * Parses a background colour (docs/method.md §2.6 Transparency): `black`,
 * `white` or `#rrggbb` (hex, either case) → an RGB triple 0..255.
 */
export function backgroundFlag(flag: string) {
  return (value: string): Background => {
    const v = value.trim().toLowerCase();
    const named = Object.hasOwn(NAMED_BACKGROUNDS, v) ? NAMED_BACKGROUNDS[v] : undefined;
    if (named) return [...named];
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(v);
    if (!m) throw new UsageError(`${flag} takes black, white or #rrggbb, got '${value}'`);
    return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
  };
}

/** Parses one of a fixed set of values. */
export function choiceFlag<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got '${value}'`);
    return value as T;
  };
}

/**
 * Parses a file or folder flag: any path but an empty (or blank) one, which
 * Node would take as the current directory (`--out ""` would write a run
 * into it).
 */
export function pathFlag(flag: string) {
  return (value: string): string => {
    if (value.trim() === '') throw new UsageError(`${flag} takes a path, got ${value ? 'only spaces' : 'an empty string'}; give a file or folder name`);
    return value;
  };
}

/**
 * `--force`, declared once for every command whose output folder replaces
 * what is there: without it, only an earlier output of the same kind (`what`,
 * e.g. "a FARMER checkpoint") or an empty folder is replaced.
 */
export function forceOption(what: string): Option {
  return new Option('--force', `replace what is at --out even when it is not ${what} (what is there is deleted)`);
}

/** `--force` of the commands that start a training run in a folder (`run`, e.g. --out): a new run replaces an old one. */
export function forceRunOption(run = '--out'): Option {
  return new Option('--force', `start a new run even where ${run} holds one (its checkpoint and metrics are replaced), or where its checkpoint/ holds anything else (deleted)`);
}
