import { FarmerError, isFarmerError } from '@farmer/core';
import { farmerError } from './helpers.js';
import { describe, expect, it } from 'vitest';
import { guidanceWeight, guidanceWeights, type GuidanceSchedule } from '../src/index.js';

describe('guidance schedules', () => {
  it('constant: w at every token', () => {
    expect(Array.from(guidanceWeights({ kind: 'constant', w: 2.5 }, 4))).toEqual([2.5, 2.5, 2.5, 2.5]);
  });

  it('linear: w·(i+1)/n, from w/n at the first token to w at the last', () => {
    const ws = guidanceWeights({ kind: 'linear', w: 3 }, 6);
    expect(Array.from(ws)).toEqual([0.5, 1, 1.5, 2, 2.5, 3]);
    expect(guidanceWeight({ kind: 'linear', w: 2.5 }, 255, 256)).toBe(2.5);
    expect(guidanceWeight({ kind: 'linear', w: 2.5 }, 0, 1)).toBe(2.5);
  });

  it('validation errors name the field', () => {
    for (const [fn, field] of [
      [() => guidanceWeights({ kind: 'linear', w: 1 }, 0), 'n'],
      [() => guidanceWeight({ kind: 'linear', w: 1 }, 4, 4), 'i'],
      [() => guidanceWeight({ kind: 'linear', w: 1 }, -1, 4), 'i'],
      [() => guidanceWeight({ kind: 'constant', w: -1 }, 0, 4), 'w'],
      [() => guidanceWeight({ kind: 'cosine', w: 1 } as unknown as GuidanceSchedule, 0, 4), 'kind'],
    ] as const) {
      const e = farmerError(fn);
      expect(e.code).toBe('FARMER_E_BAD_INPUT');
      expect(e.details.field).toBe(field);
    }
  });
});
