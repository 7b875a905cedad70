import { FarmerError } from '@farmer/core/browser';
import { checkCount, checkNonNegative } from './option-checks.js';

/**
 * How the guidance weight w evolves over the n informative AR tokens
 * i = 0..n−1 (docs/method.md §7.7 guidance schedule):
 * - `constant`: w_i = w.
 * - `linear`:   w_i = w·(i + 1)/n, rising from w/n at the first token to w at
 *   the last. This is the AR counterpart of the AF's annealed guidance
 *   g·(i + 1)/(N − 1) (docs/method.md §3.10 AF guidance), whose steps
 *   i = 0..N−2 produce tokens 1..N−1: both are "guidance × fraction of the
 *   sequence generated once this token is in".
 * The redundant step comes after every informative token; use w_{n−1} (= w
 * under both kinds) for it.
 */
export type GuidanceSchedule = { kind: 'constant'; w: number } | { kind: 'linear'; w: number };

const WHERE = 'guidance schedule';

/** Guidance weight for token i of n (0-based) under `schedule`. Errors name the field and range. */
export function guidanceWeight(schedule: GuidanceSchedule, i: number, n: number): number {
  checkCount(WHERE, 'n', n, 1);
  if (!Number.isInteger(i) || i < 0 || i >= n) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${WHERE}: i must be an integer in [0, ${n - 1}], got ${i}`, { field: 'i', value: i });
  }
  const w = checkNonNegative(WHERE, 'w', schedule.w);
  switch (schedule.kind) {
    case 'constant':
      return w;
    case 'linear':
      return (w * (i + 1)) / n;
    default: {
      const kind: unknown = (schedule as { kind: unknown }).kind;
      throw new FarmerError('FARMER_E_BAD_INPUT', `${WHERE}: kind must be 'constant' or 'linear', got ${String(kind)}`, { field: 'kind', value: kind });
    }
  }
}

/** All n weights of a schedule: [n], entry i = {@link guidanceWeight}(schedule, i, n). */
export function guidanceWeights(schedule: GuidanceSchedule, n: number): Float64Array {
  checkCount(WHERE, 'n', n, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = guidanceWeight(schedule, i, n);
  return out;
}
