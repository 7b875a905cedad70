import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { farmerDims, preset, TfRunner, type FarmerConfigInput, type FarmerModel } from '@farmer/ar-gmm';
import { initBackend, Rng, tf } from '@farmer/core';
import { compareRuntimeImages, generate } from '@farmer/sampling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportFarmerOnnx } from '../src/index.js';
import { tfLikelihood } from '@farmer/ar-gmm';
import { loadOrtRunner, type OrtRunner } from '../src/runtime/index.js';
import { maxAbsDiff } from '@farmer/test-utils';
import { maxScaledDiff, randomImages, randomModel, tempDir } from './helpers.js';

const TOL = 1e-4;
const tiny = preset('mnist-tiny');

/** Configs that exercise the other branches of the graphs. */
const VARIANTS: Record<string, FarmerConfigInput> = {
  // A class-conditional AF (run with the mean class embedding), α soft clamp, no redundant group, unconditional AR, forced final permute.
  'conditional AF, alphaClamp, d_I = d': {
    ...tiny,
    flow: { ...tiny.flow, numClasses: 3, alphaClamp: 1.5, numBlocks: 3 },
    ar: { ...tiny.ar, informativeDim: 16, layers: 2 },
    numClasses: 0,
    finalPermute: 'flip',
  },
  // Volume-preserving blocks (α = 0, logdet 0).
  'volume-preserving AF': { ...tiny, flow: { ...tiny.flow, nvp: false } },
};

let root: string;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  root = await tempDir('variants');
});

afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe.each(Object.entries(VARIANTS))('%s', (name, config) => {
  let model: FarmerModel;
  let runner: OrtRunner;
  let dir: string;

  beforeAll(async () => {
    model = randomModel(config, 11);
    dir = join(root, name.replace(/\W+/g, '-'));
    await exportFarmerOnnx(model, dir);
    runner = await loadOrtRunner(dir, { executionProvider: 'cpu' });
  });

  afterAll(async () => {
    await runner?.dispose();
    model?.dispose();
  });

  it('forward, reverse, AR stream and NLL agree with tfjs', async () => {
    const B = 2;
    const { numTokens: N, tokenDim: d, dI, dR } = farmerDims(model.config);
    const images = randomImages(B, 1, 28, 9);
    const f = await runner.flowForward(images, B);
    const ref = tf.tidy(() => {
      const r = model.flow.forwardImages(tf.tensor4d(images, [B, 1, 28, 28]));
      return { z: r.z.dataSync(), logdets: tf.stack(r.logdets, 1).dataSync() };
    });
    expect(maxAbsDiff(f.z, ref.z)).toBeLessThan(TOL);
    expect(maxScaledDiff(f.logdets, ref.logdets)).toBeLessThan(TOL);
    const zt = tf.tensor3d(f.z, [B, N, d]);
    const tx = await model.flow.reverse(zt);
    expect(maxAbsDiff(await runner.decode(f.z, B), tx.dataSync())).toBeLessThan(TOL);
    const steps = await loadOrtRunner(dir, { executionProvider: 'cpu', flowReverse: 'step', purposes: ['sample'] });
    expect(maxAbsDiff(await steps.decode(f.z, B), tx.dataSync())).toBeLessThan(TOL);
    await steps.dispose();
    tf.dispose([zt, tx]);
    const got = await runner.nll(images, B, null);
    const want = await tfLikelihood(model).nll(images, B, null);
    expect(maxScaledDiff(got.nllPerDim, want.nllPerDim)).toBeLessThan(TOL);
    if (dR === 0) expect(Array.from(got.logpRedundant)).toEqual([0, 0]);
    // AR stream vs tfjs stream at every position.
    const zI = new Rng('variant-zI').normal(B * dI, 0, 1);
    const o = runner.openArStream([-1, -1]);
    const t = new TfRunner(model).openArStream([-1, -1]);
    try {
      let a = await o.first();
      let b = await t.first();
      for (let i = 0; ; i++) {
        expect(maxScaledDiff(a.gmm.means, b.gmm.means)).toBeLessThan(TOL);
        expect(maxScaledDiff(a.gmm.sigmas, b.gmm.sigmas)).toBeLessThan(TOL);
        expect(maxScaledDiff(a.gmm.logits, b.gmm.logits)).toBeLessThan(TOL);
        if (i === N - 1 && dR === 0) break;
        if (i === N) break;
        a = await o.next(zI);
        b = await t.next(zI);
      }
      if (dR === 0) await expect(o.next(zI)).rejects.toThrow(/no redundant group/);
    } finally {
      o.dispose();
      t.dispose();
    }
  });

  it('generate() gives the same images on both runtimes', async () => {
    const a = await generate(new TfRunner(model), { count: 2, seed: 3 });
    const b = await generate(runner, { count: 2, seed: 3 });
    // docs/method.md §7.10 runtime agreement
    const r = compareRuntimeImages(a.images, b.images);
    expect(r.holds, r.summary).toBe(true);
  });
});
