import { describe, expect, it } from 'vitest';
import { weightedMean } from '../src/all-reduce.js';
import { batchShards, meanFigures } from '../src/shards.js';

describe('the all-reduce of data-parallel steps (docs/method.md §6.7 Data parallelism)', () => {
  it('is the shard-weighted mean, summed in float64 in replica order and rounded once', () => {
    const a = Float32Array.from([1, 1e8, -3, 0.1]);
    const b = Float32Array.from([3, 1, 5, 0.2]);
    const c = Float32Array.from([-2, -1e8, 1, 0.3]);
    for (const parts of [[a, b], [a, b, c]]) {
      const weights = parts.map((_, i) => 5 + i);
      const total = weights.reduce((x, y) => x + y, 0);
      const mean = weightedMean(parts.map((p, i) => ({ arrays: new Map([['g', p]]), weight: weights[i] }))).get('g')!;
      const expected = Float32Array.from(a, (_, j) => parts.reduce((s, p, i) => s + (weights[i] / total) * p[j], 0));
      expect(mean).toEqual(expected);
    }
    // 1e8 + 1 − 1e8 survives because the sum is float64: float32 would lose the 1.
    const three = weightedMean([a, b, c].map((p) => ({ arrays: new Map([['g', p]]), weight: 1 }))).get('g')!;
    expect(three[1]).toBeCloseTo(1 / 3, 6);
  });

  it('refuses a contribution that lacks an array or has the wrong size', () => {
    const one = { arrays: new Map([['g', new Float32Array(2)]]), weight: 1 };
    expect(() => weightedMean([one, { arrays: new Map([['g', new Float32Array(3)]]), weight: 1 }])).toThrow(/wrong size/);
    expect(() => weightedMean([one, { arrays: new Map(), weight: 1 }])).toThrow(/lacks 'g'/);
  });

  it('cuts a batch into shards that differ by at most one, and refuses more replicas than rows', () => {
    expect(batchShards(15, 2)).toEqual([8, 7]);
    expect(batchShards(64, 3)).toEqual([22, 21, 21]);
    expect(() => batchShards(2, 3)).toThrow(/batch 2 is smaller than the 3 workers/);
    expect(meanFigures([{ figures: { x: 1, y: [2, 4] }, weight: 3 }, { figures: { x: 3, y: [4, 8] }, weight: 1 }], 4)).toEqual({ x: 1.5, y: [2.5, 5] });
  });
});
