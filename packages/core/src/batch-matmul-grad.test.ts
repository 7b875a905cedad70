import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { isFastBatchMatMulGradActive, registerFastBatchMatMulGrad, restoreBuiltinBatchMatMulGrad } from './batch-matmul-grad.js';
import { Rng } from './rng.js';
import { normalTensor } from './rng-tensors.js';
import { tf } from './tf.js';

function grads(aShape: number[], bShape: number[], ta: boolean, tb: boolean, rng: Rng): Float32Array[] {
  return tf.tidy(() => {
    const a = normalTensor(rng, aShape);
    const b = normalTensor(rng, bShape);
    const w = normalTensor(rng, tf.matMul(a, b, ta, tb).shape);
    const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)));
    return g([a, b]).map((t) => t.dataSync() as Float32Array);
  });
}

describe('explicit-transpose BatchMatMul gradient', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
  });

  const cases: [number[], number[], boolean, boolean][] = [
    [[5, 7], [7, 3], false, false],
    [[5, 7], [3, 7], false, true],
    [[7, 5], [7, 3], true, false],
    [[7, 5], [3, 7], true, true],
    [[2, 4, 6, 5], [2, 4, 5, 3], false, false],
    [[3, 6, 5], [3, 4, 5], false, true],
    [[3, 6, 5], [3, 6, 4], true, false],
  ];
  for (const [as, bs, ta, tb] of cases) {
    it(`matches the built-in gradient for [${as}]·[${bs}] transposeA=${ta} transposeB=${tb}`, () => {
      registerFastBatchMatMulGrad();
      expect(isFastBatchMatMulGradActive()).toBe(true);
      const fast = grads(as, bs, ta, tb, new Rng(7));
      restoreBuiltinBatchMatMulGrad();
      expect(isFastBatchMatMulGradActive()).toBe(false);
      const ref = grads(as, bs, ta, tb, new Rng(7));
      registerFastBatchMatMulGrad();
      for (let k = 0; k < 2; k++) {
        expect(fast[k].length).toBe(ref[k].length);
        for (let i = 0; i < ref[k].length; i++) expect(fast[k][i]).toBeCloseTo(ref[k][i], 4);
      }
    });
  }

  it('handles a broadcast batch dimension', () => {
    const rng = new Rng(3);
    const [ga, gb] = tf.tidy(() => {
      const a = normalTensor(rng, [4, 5, 6]);
      const b = normalTensor(rng, [6, 3]);
      return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y)))([a, b]).map((t) => t.shape);
    });
    expect(ga).toEqual([4, 5, 6]);
    expect(gb).toEqual([6, 3]);
  });
});
