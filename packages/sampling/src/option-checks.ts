import type { GmmBatch } from '@farmer/ar-gmm/browser';
import { checkGmmBatch } from '@farmer/ar-gmm/browser';
import { FarmerError } from '@farmer/core/browser';

/*
 * Argument checks shared by the samplers (their options are checked by the
 * generate-options schema, see parse-options.ts). Each error names the field and the
 * allowed range, and carries `{ field, value }` in its details so the CLI and
 * server can point at the offending flag.
 */

function bad(where: string, field: string, range: string, value: unknown): FarmerError {
  return new FarmerError('FARMER_E_BAD_INPUT', `${where}: ${field} must be ${range}, got ${String(value)}`, { field, value });
}

/** A finite number ≥ 0 (guidance weights). */
export function checkNonNegative(where: string, field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw bad(where, field, 'a finite number ≥ 0', value);
  return value;
}

/** An integer in [min, 2^31): counts and pool sizes. */
export function checkCount(where: string, field: string, value: number, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value >= 2 ** 31) {
    throw bad(where, field, `an integer ≥ ${min}`, value);
  }
  return value;
}

/** Shape check of one GMM batch, naming it (`gmm`, `cond`, `uncond`). */
export function checkGmm(where: string, field: string, g: GmmBatch): void {
  if (!g || !Number.isInteger(g.batch) || !Number.isInteger(g.k) || !Number.isInteger(g.dim) || g.batch < 1 || g.k < 1 || g.dim < 1) {
    throw new FarmerError('FARMER_E_SHAPE', `${where}: ${field} must have integer batch, k and dim ≥ 1`, { field });
  }
  try {
    checkGmmBatch(g);
  } catch (e) {
    throw new FarmerError('FARMER_E_SHAPE', `${where}: ${field}: ${(e as Error).message}`, { field }, { cause: e });
  }
}

/** The conditional and unconditional mixtures of one step must describe the same rows and dims. */
export function checkGmmPair(where: string, cond: GmmBatch, uncond: GmmBatch, sameK: boolean): void {
  checkGmm(where, 'cond', cond);
  checkGmm(where, 'uncond', uncond);
  for (const key of sameK ? (['batch', 'dim', 'k'] as const) : (['batch', 'dim'] as const)) {
    if (cond[key] !== uncond[key]) {
      throw new FarmerError('FARMER_E_SHAPE', `${where}: cond.${key} = ${cond[key]} but uncond.${key} = ${uncond[key]}; both streams must match`, {
        field: `uncond.${key}`,
      });
    }
  }
}
