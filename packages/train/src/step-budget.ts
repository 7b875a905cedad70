/**
 * How many steps fit a wall-clock budget, from timed steps of the same engine.
 *
 * The first steps of a run are slow (sessions and worker replicas start, arenas grow),
 * so they are dropped and the median of the rest is the step time; a margin keeps the
 * planned run inside the budget with its checkpoints and evaluations, so that its
 * cosine schedule ends before the time budget stops it (docs/method.md §6.3 Learning-rate schedule).
 *
 * @param budgetSeconds the wall-clock training budget
 * @param stepSeconds seconds of each timed step, in order (at least `warmup + 1`)
 * @param warmup leading steps to drop
 * @param margin fraction of the budget to plan for
 * @returns at least 1
 */
export function stepsForBudget(budgetSeconds: number, stepSeconds: readonly number[], warmup = 3, margin = 0.95): number {
  const steady = stepSeconds.slice(warmup).filter((s) => Number.isFinite(s) && s > 0);
  if (steady.length === 0) throw new RangeError(`stepsForBudget needs more than ${warmup} timed steps, got ${stepSeconds.length}`);
  const sorted = [...steady].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return Math.max(1, Math.floor((budgetSeconds * margin) / median));
}
