import { initBackend, normalTensor, Rng, tf } from '@farmer/core';
import { maxAbsDiff } from '@farmer/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { exactIterations, jacobiBlockInverse, jacobiDecode, moduleBounds, toWorkingOrder, type JacobiPass } from '../src/index.js';
import { randomFlow } from './helpers.js';

// 16 tokens of d = 4; exp(α) kept moderate so the chain neither explodes nor collapses.
const cond = { inChannels: 1, imageSize: 8, patchSize: 2, width: 32, numBlocks: 3, layersPerBlock: 2, headDim: 16, numClasses: 3 };

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** Max |a − b| per token of [B, N, d] arrays (over images and dims). */
function tokenErrors(a: Float32Array, b: Float32Array, batch: number, n: number, d: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    let m = 0;
    for (let k = 0; k < batch; k++) for (let j = 0; j < d; j++) m = Math.max(m, Math.abs(a[(k * n + i) * d + j] - b[(k * n + i) * d + j]));
    return m;
  });
}

describe('moduleBounds and the exact iteration count', () => {
  it('cover [0, N) with contiguous near-equal modules, and the exact cap is the module length (minus the known token 0)', () => {
    expect(moduleBounds(10, 3)).toEqual([
      [0, 3],
      [3, 7],
      [7, 10],
    ]);
    expect(moduleBounds(4, 9)).toHaveLength(4);
    expect(moduleBounds(49, 1)).toEqual([[0, 49]]);
    expect(exactIterations(0, 49)).toBe(48);
    expect(exactIterations(7, 10)).toBe(3);
  });

  it('toWorkingOrder reverses the tokens of a flipped block and is an involution', () => {
    const x = Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i);
    const w = toWorkingOrder(1, x, 2, 3, 2);
    expect(Array.from(w.subarray(0, 6))).toEqual([4, 5, 2, 3, 0, 1]);
    expect(Array.from(toWorkingOrder(1, w, 2, 3, 2))).toEqual(Array.from(x));
    expect(toWorkingOrder(0, x, 2, 3, 2)).toBe(x);
  });
});

describe('Jacobi decoding on tfjs', () => {
  it('after k passes the first k+1 tokens equal the sequential inverse (the causal guarantee), from either initial guess', async () => {
    const flow = randomFlow(cond, 21, 0.3);
    const [b, n, d] = [2, flow.numTokens, flow.tokenDim];
    const z = normalTensor(new Rng(7), [b, n, d]) as tf.Tensor3D;
    const labels = [1, -1];
    for (const t of [0, 1]) {
      const exact = await flow.reverseBlock(t, z, { labels });
      const want = toWorkingOrder(t, exact.dataSync() as Float32Array, b, n, d);
      const zw = toWorkingOrder(t, z.dataSync() as Float32Array, b, n, d);
      for (const init of ['latent', 'zeros'] as const) {
        for (const k of [1, 3, 6]) {
          const r = await jacobiBlockInverse(flow.jacobiPass({ labels }), t, zw, b, n, d, { modules: 1, init }, { tolerance: 0, maxIterations: k });
          expect(r.stats.iterations).toBe(k);
          const err = tokenErrors(r.x, want, b, n, d);
          expect(Math.max(...err.slice(0, k + 1))).toBeLessThan(2e-5);
          // ... and not yet the rest: strong weights keep later tokens off after so few passes.
          expect(Math.max(...err.slice(k + 1))).toBeGreaterThan(1e-3);
        }
      }
      exact.dispose();
    }
    z.dispose();
    flow.dispose();
  });

  it('with the exact cap equals the sequential inverse, for plain Jacobi and Gauss-Seidel modules, unguided and guided', async () => {
    const flow = randomFlow(cond, 22, 0.2);
    const [b, n, d] = [3, flow.numTokens, flow.tokenDim];
    const z = normalTensor(new Rng(8), [b, n, d]) as tf.Tensor3D;
    const labels = [2, -1, 0];
    for (const guidance of [undefined, { scale: 0.5, annealed: true, attnTemp: 1.3 }]) {
      const exact = await flow.reverse(z, { labels, guidance });
      for (const plan of [undefined, { tough: [0, 2], modules: 4, init: ['zeros', 'latent', 'zeros'] as const }]) {
        const r = await jacobiDecode(flow.jacobiPass({ labels, guidance }), z.dataSync() as Float32Array, b, n, d, 3, { tolerance: 0, plan: plan && { ...plan, init: [...plan.init] } });
        expect(maxAbsDiff(r.x, exact.dataSync())).toBeLessThan(5e-5);
        expect(r.stats.map((s) => s.block)).toEqual([2, 1, 0]);
        // Tolerance 0 never stops early: each block ran its exact cap, N − 1 passes for plain Jacobi, N − 1 in total over modules too.
        for (const s of r.stats) expect(s.iterations).toBe(n - 1);
        if (plan) expect(r.stats[0].residuals).toHaveLength(4);
      }
      exact.dispose();
    }
    z.dispose();
    flow.dispose();
  });

  it('at a tolerance stops early with images equal to the sequential inverse within the tolerance scale, on a near-identity flow', async () => {
    const flow = randomFlow(cond, 23, 0.1);
    const [b, n, d] = [2, flow.numTokens, flow.tokenDim];
    const z = normalTensor(new Rng(9), [b, n, d]) as tf.Tensor3D;
    const exact = await flow.reverse(z, { labels: [0, 1] });
    const r = await jacobiDecode(flow.jacobiPass({ labels: [0, 1] }), z.dataSync() as Float32Array, b, n, d, 3, { tolerance: 1e-5 });
    for (const s of r.stats) expect(s.iterations).toBeLessThan(n - 1);
    expect(maxAbsDiff(r.x, exact.dataSync())).toBeLessThan(1e-4);
    tf.dispose([z, exact]);
    flow.dispose();
  });

  it('leaks no tensors across passes, and a non-finite pass never reads as converged', async () => {
    const flow = randomFlow(cond, 24, 0.3);
    const [b, n, d] = [1, flow.numTokens, flow.tokenDim];
    const z = Float32Array.from((normalTensor(new Rng(1), [b, n, d]) as tf.Tensor3D).dataSync());
    const pass = flow.jacobiPass();
    await jacobiDecode(pass, z, b, n, d, 3, { tolerance: 1e-4 });
    const before = tf.memory().numTensors;
    await jacobiDecode(pass, z, b, n, d, 3, { tolerance: 1e-4 });
    expect(tf.memory().numTensors).toBe(before);
    const nanPass: JacobiPass = async (_t, x) => x.map(() => NaN);
    const r = await jacobiBlockInverse(nanPass, 0, z, b, n, d, { modules: 1, init: 'latent' }, { tolerance: 1e-4 });
    expect(r.stats.iterations).toBe(n - 1);
    expect(r.stats.capped).toEqual([true]);
    flow.dispose();
  });
});
