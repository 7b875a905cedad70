/**
 * Learning rate at `step` (0-based): linear warm-up from 0 to `lr` over
 * `warmupSteps`, then cosine decay to `minLr` at `totalSteps`.
 */
export function cosineLr(step: number, totalSteps: number, lr: number, warmupSteps: number, minLr: number): number {
  if (warmupSteps > 0 && step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const t = Math.min(1, Math.max(0, (step - warmupSteps) / span));
  return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * t));
}
