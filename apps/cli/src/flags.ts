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

/** Parses a comma-separated list of integers. */
export function intListFlag(flag: string) {
  return (value: string): number[] =>
    value.split(',').map((v) => {
      const s = v.trim();
      if (!/^-?\d+$/.test(s)) throw new UsageError(`${flag} takes comma-separated integers, got '${value}'`);
      return Number(s);
    });
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

/** Parses one of a fixed set of values. */
export function choiceFlag<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got '${value}'`);
    return value as T;
  };
}
