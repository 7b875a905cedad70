import { initBackend, normalTensor, ParamStore, Rng, tf } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, randomize, relErr } from '../src/index.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

const shapes = { 'blocks.0.proj_out.weight': [2, 3], 'blocks.0.norm.weight': [3], 'blocks.0.proj_in.bias': [4] };
const zeros = () => new ParamStore(shapes).initialise((_name, shape) => tf.zeros(shape));
const values = (s: ParamStore, name: string) => Array.from(s.get(name).dataSync());

describe('maxAbsDiff and relErr', () => {
  it('measure the largest difference, absolute and relative to the reference', () => {
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 2])).toBe(1);
    expect(relErr([1, 2, 3], [1, 2.5, 2])).toBeCloseTo(1 / 2.5, 15);
    expect(() => maxAbsDiff([1], [1, 2])).toThrow(/length 1 vs 2/);
  });
});

describe('randomize', () => {
  it('draws std projOut on proj_out, 0.1 on LayerNorm scales and `scale` elsewhere, from the stream `randomize:seed`', () => {
    const s = zeros();
    randomize(s, 3, { scale: 0.5, projOut: 0.02 });
    const rng = new Rng('randomize:3');
    for (const [name, std] of [['blocks.0.proj_out.weight', 0.02], ['blocks.0.norm.weight', 0.1], ['blocks.0.proj_in.bias', 0.5]] as const) {
      const want = Array.from(normalTensor(rng, s.get(name).shape, std).dataSync());
      expect(maxAbsDiff(values(s, name), want), name).toBe(0);
    }
    s.dispose();
  });

  it('leaves proj_out untouched without drawing when projOut is 0, and takes the stream name', () => {
    const a = zeros();
    const b = zeros();
    randomize(a, 1, { scale: 0.1, projOut: 0 });
    randomize(b, 1, { scale: 0.1, projOut: 0, stream: 'other' });
    expect(values(a, 'blocks.0.proj_out.weight')).toEqual([0, 0, 0, 0, 0, 0]);
    // The first drawn tensor comes first in the stream: no draws were spent on proj_out.
    const first = Array.from(normalTensor(new Rng('randomize:1'), [3], 0.1).dataSync());
    expect(values(a, 'blocks.0.norm.weight')).toEqual(first);
    expect(values(b, 'blocks.0.norm.weight')).not.toEqual(first);
    a.dispose();
    b.dispose();
  });
});
