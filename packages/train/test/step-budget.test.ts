import { describe, expect, it } from 'vitest';
import { stepsForBudget } from '../src/step-budget.js';

describe('stepsForBudget', () => {
  it('plans from the median step after the slow first steps, inside the margin', () => {
    // A replica's first steps start sessions: 2 s, 0.4 s, 0.2 s; then 0.1 s steps with one outlier.
    const times = [2, 0.4, 0.2, 0.1, 0.1, 0.1, 0.3, 0.1, 0.1];
    expect(stepsForBudget(300, times)).toBe(Math.floor((300 * 0.95) / 0.1));
    // The minimum of steps 2 and 3 (0.2 s), the old calibration, plans half the run that fits.
    expect(stepsForBudget(300, times)).toBeGreaterThan(1.9 * Math.floor((300 * 0.95) / 0.2));
  });

  it('takes the mean of the middle pair for an even count, and the warm-up and margin given', () => {
    expect(stepsForBudget(10, [9, 0.1, 0.3], 1, 1)).toBe(50);
    expect(stepsForBudget(1, [5, 5, 5, 5], 3)).toBe(1);
  });

  it('refuses too few timed steps', () => {
    expect(() => stepsForBudget(60, [0.1, 0.1, 0.1])).toThrow(/more than 3 timed steps/);
  });
});
