import { describe, expect, it } from 'vitest';
import { ParamStore } from './param-store.js';
import { f32 } from './safetensors.js';

describe('ParamStore.hostValues', () => {
  const shapes = { 'a.bias': [2] };

  it('reads the parameters under a prefix', () => {
    const map = { 'flow.a.bias': f32([1, 2], [2]), 'ar.other': f32([3], [1]) };
    expect(ParamStore.hostValues(shapes, map, 'm.safetensors', 'flow.').map((v) => Array.from(v))).toEqual([[1, 2]]);
  });

  it("refuses an extra tensor under the prefix even when its name is an Object member ('__proto__', 'constructor')", () => {
    for (const name of ['__proto__', 'constructor']) {
      const map = Object.fromEntries([['flow.a.bias', f32([1, 2], [2])], [`flow.${name}`, f32([3], [1])]]);
      expect(() => ParamStore.hostValues(shapes, map, 'm.safetensors', 'flow.'), name).toThrow(new RegExp(`unexpected tensor '${name}'`));
    }
  });
});
