import { FarmerError } from '@farmer/core';

/**
 * FPR at a TPR for a detector that flags scores above a threshold (higher: more
 * out-of-distribution), with in-distribution images as the positives that must be
 * accepted: the threshold is the ⌈tpr·n⌉-th smallest in-distribution score, so that `tpr`
 * of them are accepted, and the result is the share of OOD scores at or below it, accepted
 * by mistake. The OOD literature's "FPR at 95% TPR". 0 is perfect; a score that cannot
 * tell the sets apart gives about `tpr`.
 */
export function fprAtTpr(ood: ArrayLike<number>, inDist: ArrayLike<number>, tpr = 0.95): number {
  if (ood.length === 0 || inDist.length === 0) throw new FarmerError('FARMER_E_BAD_INPUT', `FPR needs scores of both groups (got ${ood.length} OOD, ${inDist.length} in-distribution)`);
  if (!(tpr > 0 && tpr <= 1)) throw new FarmerError('FARMER_E_BAD_INPUT', `tpr must be in (0, 1], got ${tpr}`);
  if (Array.prototype.some.call(ood, Number.isNaN) || Array.prototype.some.call(inDist, Number.isNaN)) return NaN;
  const sorted = Float64Array.from(inDist).sort();
  const threshold = sorted[Math.ceil(tpr * sorted.length) - 1];
  let accepted = 0;
  for (let i = 0; i < ood.length; i++) if (ood[i] <= threshold) accepted++;
  return accepted / ood.length;
}
