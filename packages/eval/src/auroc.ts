import { FarmerError } from '@farmer/core';

/**
 * Area under the ROC curve for telling `positive` scores from `negative`
 * ones, where a higher score means "positive": the Mann–Whitney probability
 * P(s⁺ > s⁻) + ½·P(s⁺ = s⁻), computed from ranks with ties averaged
 * (O(n log n)). 0.5 is chance; below 0.5 the score points the wrong way.
 */
export function auroc(positive: ArrayLike<number>, negative: ArrayLike<number>): number {
  const nP = positive.length;
  const nN = negative.length;
  if (nP === 0 || nN === 0) throw new FarmerError('FARMER_E_BAD_INPUT', `AUROC needs scores of both groups (got ${nP} positive, ${nN} negative)`);
  const all = [...Array.from(positive, (s) => ({ s, pos: true })), ...Array.from(negative, (s) => ({ s, pos: false }))];
  if (all.some((e) => Number.isNaN(e.s))) return NaN;
  all.sort((a, b) => a.s - b.s);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j].s === all[i].s) j++;
    // Ranks i+1 … j share their mean.
    const mean = (i + 1 + j) / 2;
    for (let t = i; t < j; t++) if (all[t].pos) rankSum += mean;
    i = j;
  }
  return (rankSum - (nP * (nP + 1)) / 2) / (nP * nN);
}
