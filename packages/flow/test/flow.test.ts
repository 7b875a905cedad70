import { initBackend, isFarmerError, normalTensor, Rng, tf } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { blockForward, blockWeights, Flow, permutedIndex } from '../src/index.js';
import { maxAbsDiff } from '@farmer/test-utils';
import { randomFlow } from './helpers.js';

const small = { inChannels: 1, imageSize: 8, patchSize: 2, width: 32, numBlocks: 3, layersPerBlock: 2, headDim: 16 };
const cond = { inChannels: 3, imageSize: 8, patchSize: 4, width: 32, numBlocks: 2, layersPerBlock: 2, headDim: 8, numClasses: 4 };

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

function tokens(flow: Flow, batch: number, seed: number): tf.Tensor3D {
  return normalTensor(new Rng(seed), [batch, flow.numTokens, flow.tokenDim], 0.5) as tf.Tensor3D;
}

describe('Flow forward/reverse', () => {
  for (const [name, cfg, labels] of [
    ['unconditional', small, undefined],
    ['conditional', cond, [0, 3, -1]],
  ] as const) {
    it(`reverse(forward(x)) ≈ x within 1e-4 (${name})`, async () => {
      const flow = randomFlow(cfg, 3);
      const x = tokens(flow, 3, 1);
      const { z, logdets } = tf.tidy(() => flow.forward(x, { labels }));
      // The weights are non-trivial: z is far from x and logdets are non-zero.
      expect(maxAbsDiff(z.dataSync(), x.dataSync())).toBeGreaterThan(0.05);
      expect(Math.abs(logdets[0].dataSync()[0])).toBeGreaterThan(0.01);
      const back = await flow.reverse(z, { labels });
      expect(maxAbsDiff(back.dataSync(), x.dataSync())).toBeLessThan(1e-4);
      tf.dispose([x, z, back, ...logdets]);
      flow.dispose();
    });
  }

  it('is the identity with logdet 0 when new', async () => {
    const flow = Flow.create(cond, 0);
    const x = tokens(flow, 2, 2);
    const { z, logdets } = tf.tidy(() => flow.forward(x, { labels: [1, 2] }));
    expect(maxAbsDiff(z.dataSync(), x.dataSync())).toBe(0);
    for (const l of logdets) expect(Array.from(l.dataSync(), Math.abs)).toEqual([0, 0]);
    tf.dispose([x, z, ...logdets]);
    flow.dispose();
  });

  it('returns every block latent on request and z equals the last', () => {
    const flow = randomFlow(small, 4);
    const x = tokens(flow, 2, 3);
    const r = tf.tidy(() => flow.forward(x, { keepLatents: true }));
    expect(r.latents).toHaveLength(3);
    expect(r.latents![2].dataSync()).toEqual(r.z.dataSync());
    expect(r.logdets.map((l) => l.shape)).toEqual([[2], [2], [2]]);
    tf.dispose([x, r.z, ...r.logdets, ...r.latents!]);
    flow.dispose();
  });

  it('per-block reverse maps the latent of block t back through blocks t..0', async () => {
    const flow = randomFlow(small, 5);
    const x = tokens(flow, 2, 4);
    const r = tf.tidy(() => flow.forward(x, { keepLatents: true }));
    const back1 = await flow.reverseFrom(1, r.latents![1]);
    expect(maxAbsDiff(back1.dataSync(), x.dataSync())).toBeLessThan(1e-4);
    const one = await flow.reverseBlock(2, r.latents![2]);
    expect(maxAbsDiff(one.dataSync(), r.latents![1].dataSync())).toBeLessThan(1e-4);
    tf.dispose([x, r.z, ...r.logdets, ...r.latents!, back1, one]);
    flow.dispose();
  });
});

describe('Jacobian', () => {
  it('summed logdet equals log|det J| of a finite-difference Jacobian (d·N = 16)', () => {
    const cfg = { inChannels: 1, imageSize: 4, patchSize: 2, width: 16, numBlocks: 2, layersPerBlock: 1, headDim: 8 };
    const flow = randomFlow(cfg, 6, 0.3);
    const D = flow.numTokens * flow.tokenDim;
    const x0 = new Rng(5).normal(D, 0, 0.5);
    const f = (v: Float64Array | Float32Array): { z: Float32Array; ld: number } =>
      tf.tidy(() => {
        const r = flow.forward(tf.tensor3d(Float32Array.from(v), [1, flow.numTokens, flow.tokenDim]));
        return { z: r.z.dataSync() as Float32Array, ld: r.logdets.reduce((a, l) => a + l.dataSync()[0], 0) };
      });
    const h = 1e-2;
    const J = Array.from({ length: D }, () => new Float64Array(D));
    for (let j = 0; j < D; j++) {
      const p = Float64Array.from(x0);
      const m = Float64Array.from(x0);
      p[j] += h;
      m[j] -= h;
      const zp = f(p).z;
      const zm = f(m).z;
      for (let i = 0; i < D; i++) J[i][j] = (zp[i] - zm[i]) / (2 * h);
    }
    const { ld } = f(x0);
    expect(Math.abs(ld)).toBeGreaterThan(0.5);
    expect(Math.abs(logAbsDet(J) - ld)).toBeLessThan(2e-3);
    flow.dispose();
  });
});

/** log|det| by LU with partial pivoting in float64. */
function logAbsDet(a: Float64Array[]): number {
  const n = a.length;
  const m = a.map((r) => Float64Array.from(r));
  let s = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i][k]) > Math.abs(m[p][k])) p = i;
    [m[k], m[p]] = [m[p], m[k]];
    s += Math.log(Math.abs(m[k][k]));
    for (let i = k + 1; i < n; i++) {
      const f = m[i][k] / m[k][k];
      for (let j = k; j < n; j++) m[i][j] -= f * m[k][j];
    }
  }
  return s;
}

describe('causality', () => {
  it("changing token j changes no output before j in the block's own order", () => {
    const flow = randomFlow(small, 7);
    const n = flow.numTokens;
    const j = 5;
    for (const t of [0, 1]) {
      const [zA, zB] = tf.tidy(() => {
        const x = tokens(flow, 1, 8);
        const bump = tf.mul(tf.reshape(tf.oneHot(tf.tensor1d([j], 'int32'), n), [1, n, 1]), 0.7);
        const run = (v: tf.Tensor3D) => blockForward(blockWeights(flow.params, flow.config, t), flow.config, v, undefined, flow.causalMask()).z.arraySync()[0];
        return [run(x), run(tf.add(x, bump) as tf.Tensor3D)];
      });
      const jp = permutedIndex(t, j, n);
      for (let k = 0; k < n; k++) {
        const d = maxAbsDiff(zA[k], zB[k]);
        if (permutedIndex(t, k, n) < jp) expect(d, `block ${t} token ${k}`).toBe(0);
        else expect(d, `block ${t} token ${k}`).toBeGreaterThan(0);
      }
    }
    flow.dispose();
  });
});
