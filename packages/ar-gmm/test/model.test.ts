import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, isFarmerError, normalTensor, Rng, tf } from '@farmer/core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { FarmerModel, gmmLogDensity, loadFarmer, preset, PRESET_NAMES, saveFarmer, TfArStream, toArOrder, type ArStreamSource, type FarmerConfigInput } from '../src/index.js';
import { maxAbsDiff, randomize } from '@farmer/test-utils';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

const small: FarmerConfigInput = {
  flow: { inChannels: 1, imageSize: 8, patchSize: 2, width: 32, numBlocks: 3, layersPerBlock: 1, headDim: 16 },
  ar: { width: 32, layers: 2, headDim: 16, prefixLength: 3, informativeDim: 2, componentsInformative: 3, componentsRedundant: 2 },
  numClasses: 4,
};

function randomModel(config: FarmerConfigInput, seed: number): FarmerModel {
  const m = FarmerModel.create(config, seed);
  randomize(m.flow.params, seed, { scale: 0.1, projOut: 0.02 });
  randomize(m.ar.params, seed + 1, { scale: 0.2, projOut: 0.02 });
  return m;
}

const tokens = (m: FarmerModel, b: number, seed: number) => normalTensor(new Rng(seed), [b, m.dims.numTokens, m.dims.tokenDim], 0.5) as tf.Tensor3D;

describe('FARMER reduces to an AF when K = 1 and d_I = d (docs/method.md §5.3 pure-AF reduction)', () => {
  it('the joint NLL equals AF + a Gaussian affine block built from the AR’s μ and σ', () => {
    const cfg: FarmerConfigInput = { ...small, ar: { ...small.ar, informativeDim: 4, componentsInformative: 1 } };
    const m = randomModel(cfg, 3);
    const x = tokens(m, 3, 1);
    const labels = [0, 2, -1];
    const [farmer, af] = tf.tidy(() => {
      const f = m.nll(x, labels).nllPerDim.dataSync();
      const { z, logdets } = m.flow.forward(x);
      const zAr = toArOrder(m.config, z);
      const g = m.ar.forward(zAr, labels).informative;
      const mu = tf.squeeze(g.means, [2]);
      const sigma = tf.squeeze(g.sigmas, [2]);
      // The affine block: z' = (z − μ)/σ, log|det| = −Σ log σ; then a standard normal prior.
      const zp = tf.div(tf.sub(zAr, mu), sigma);
      const logPrior = tf.sum(tf.sub(tf.mul(tf.square(zp), -0.5), 0.5 * Math.log(2 * Math.PI)), [1, 2]);
      const logdetAffine = tf.neg(tf.sum(tf.log(sigma), [1, 2]));
      const total = tf.add(tf.add(logPrior, logdetAffine), tf.addN(logdets));
      return [f, tf.div(tf.neg(total), m.dims.numTokens * m.dims.tokenDim).dataSync()];
    });
    expect(maxAbsDiff(farmer, af)).toBeLessThan(1e-5);
    expect(Math.abs(farmer[0])).toBeGreaterThan(0.01);
    tf.dispose(x);
    m.dispose();
  });
});

describe('AR backbone', () => {
  it('is causal: the GMM for token i does not depend on tokens ≥ i', () => {
    const m = randomModel(small, 4);
    const { numTokens: N, dI } = m.dims;
    const j = 7;
    const [a, b] = tf.tidy(() => {
      const zI = normalTensor(new Rng(5), [1, N, dI]) as tf.Tensor3D;
      const bump = tf.mul(tf.reshape(tf.oneHot(tf.tensor1d([j], 'int32'), N), [1, N, 1]), 0.9);
      const run = (z: tf.Tensor3D) => m.ar.forward(z, [1]).informative.means.arraySync() as number[][][][];
      return [run(zI), run(tf.add(zI, bump) as tf.Tensor3D)];
    });
    for (let i = 0; i < N; i++) {
      const d = maxAbsDiff(a[0][i].flat(), b[0][i].flat());
      if (i <= j) expect(d, `token ${i}`).toBe(0);
      else expect(d, `token ${i}`).toBeGreaterThan(0);
    }
    m.dispose();
  });

  it('the incremental stream gives the same GMMs as the parallel pass, for every token and the redundant head', async () => {
    const m = randomModel(small, 6);
    const { numTokens: N, dI } = m.dims;
    const labels = [3, -1];
    const zI = new Rng(7).normal(2 * N * dI);
    const par = tf.tidy(() => {
      const g = m.ar.forward(tf.tensor3d(zI, [2, N, dI]), labels);
      return {
        iMeans: g.informative.means.arraySync() as number[][][][],
        iSig: g.informative.sigmas.arraySync() as number[][][][],
        iLog: g.informative.logits.arraySync() as number[][][],
        rMeans: g.redundant!.means.dataSync(),
        rSig: g.redundant!.sigmas.dataSync(),
      };
    });
    const stream = m.ar.openStream(labels, 2);
    const before = tf.memory().numTensors;
    let step = await stream.first();
    for (let i = 0; i < N; i++) {
      expect(step.kind).toBe('informative');
      expect(step.token).toBe(i);
      for (let b = 0; b < 2; b++) {
        const k = step.gmm.k;
        expect(maxAbsDiff(step.gmm.means.subarray(b * k * dI, (b + 1) * k * dI), par.iMeans[b][i].flat())).toBeLessThan(2e-5);
        expect(maxAbsDiff(step.gmm.sigmas.subarray(b * k * dI, (b + 1) * k * dI), par.iSig[b][i].flat())).toBeLessThan(2e-5);
        expect(maxAbsDiff(step.gmm.logits.subarray(b * k, (b + 1) * k), par.iLog[b][i])).toBeLessThan(2e-5);
      }
      const feed = new Float32Array(2 * dI);
      for (let b = 0; b < 2; b++) feed.set(zI.subarray((b * N + i) * dI, (b * N + i + 1) * dI), b * dI);
      step = await stream.next(feed);
    }
    expect(step.kind).toBe('redundant');
    expect(maxAbsDiff(step.gmm.means, par.rMeans)).toBeLessThan(2e-5);
    expect(maxAbsDiff(step.gmm.sigmas, par.rSig)).toBeLessThan(2e-5);
    stream.dispose();
    // The stream's cache is all that grew, and dispose frees it.
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    m.dispose();
  });

  it('the stream resolves the weights once when it opens and reads nothing of the model but ArStreamSource', async () => {
    const m = randomModel(small, 8);
    const { numTokens: N, dI } = m.dims;
    const labels = [1, -1];
    const zI = new Rng(9).normal(2 * N * dI);
    const feed = (i: number) => Float32Array.from({ length: 2 * dI }, (_, j) => zI[(Math.floor(j / dI) * N + i) * dI + (j % dI)]);
    const run = async (stream: TfArStream) => {
      const steps = [await stream.first()];
      for (let i = 0; i < N; i++) steps.push(await stream.next(feed(i)));
      stream.dispose();
      return steps.map((s) => Array.from(s.gmm.means));
    };
    const get = vi.spyOn(m.ar.params, 'get');
    const stream = m.ar.openStream(labels, 2);
    const atOpen = get.mock.calls.length;
    const byModel = await run(stream);
    expect(get.mock.calls.length - atOpen).toBe(0);
    get.mockRestore();
    // A source that is not an ArModel: only the named interface's members.
    const source: ArStreamSource = { config: m.ar.config, dims: m.ar.dims, heads: m.ar.heads, weights: () => m.ar.weights(), prefix: (w, l, b) => m.ar.prefix(w, l, b) };
    expect(await run(new TfArStream(source, labels, 2))).toEqual(byModel);
    m.dispose();
  });

  it('rejects labels outside the class table', () => {
    const m = FarmerModel.create(small, 0);
    expect(() => tf.tidy(() => m.ar.classSelector([4], 1))).toThrow(/label 4 at index 0 is outside \[0, 4\)/);
    m.dispose();
  });
});

describe('joint model', () => {
  it('sends gradients to every parameter of both halves', () => {
    const m = randomModel(small, 8);
    const x = tokens(m, 4, 9);
    const vars = m.variables();
    const names = m.variableNames();
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.mean(m.nll(x, [0, 1, 2, -1]).nllPerDim) as tf.Scalar), vars);
    vars.forEach((v, i) => {
      const g = grads[v.name].dataSync();
      expect(g.every(Number.isFinite), names[i]).toBe(true);
      expect(g.some((e) => e !== 0), names[i]).toBe(true);
    });
    expect(names.some((n) => n.startsWith('flow.'))).toBe(true);
    expect(names.some((n) => n.startsWith('ar.'))).toBe(true);
    tf.dispose([x, value, ...Object.values(grads)]);
    m.dispose();
  });

  it('its NLL is a normalised density: the GMM terms match the float64 host maths', () => {
    const m = randomModel(small, 10);
    const x = tokens(m, 1, 11);
    const { tf32, host } = tf.tidy(() => {
      const r = m.nll(x, [2]);
      const z = toArOrder(m.config, m.flow.forward(x).z);
      const { zI } = m.splitChannels(z);
      const g = m.ar.forward(zI, [2]).informative;
      const { numTokens: N, dI } = m.dims;
      const k = m.config.ar.componentsInformative;
      const zi = zI.dataSync();
      const means = g.means.dataSync();
      const sig = g.sigmas.dataSync();
      const logits = g.logits.dataSync();
      let sum = 0;
      for (let i = 0; i < N; i++) {
        const gb = { batch: 1, k, dim: dI, logits: logits.slice(i * k, (i + 1) * k) as Float32Array, means: means.slice(i * k * dI, (i + 1) * k * dI) as Float32Array, sigmas: sig.slice(i * k * dI, (i + 1) * k * dI) as Float32Array };
        sum += gmmLogDensity(gb, 0, zi, i * dI);
      }
      return { tf32: r.logpInformative.dataSync()[0], host: sum };
    });
    expect(Math.abs(tf32 - host)).toBeLessThan(1e-4 * Math.abs(host) + 1e-3);
    x.dispose();
    m.dispose();
  });

  it('saves and loads a checkpoint with flow. and ar. weights', async () => {
    const m = randomModel(small, 12);
    const dir = join(mkdtempSync(join(tmpdir(), 'farmer-ar-')), 'ck');
    await saveFarmer(dir, m);
    const back = await loadFarmer(dir);
    const x = tokens(m, 2, 13);
    const a = tf.tidy(() => m.nll(x, [1, 2]).nllPerDim.dataSync());
    const b = tf.tidy(() => back.nll(x, [1, 2]).nllPerDim.dataSync());
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(back.config).toEqual(m.config);
    tf.dispose(x);
    m.dispose();
    back.dispose();
  });
});

describe('presets', () => {
  it('all validate, and unknown names list the choices', () => {
    for (const p of PRESET_NAMES) expect(() => preset(p)).not.toThrow();
    const err = (() => {
      try {
        preset('mnist-huge');
      } catch (e) {
        return e;
      }
    })();
    expect(isFarmerError(err, 'FARMER_E_BAD_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(/unknown preset 'mnist-huge'; choose one of: mnist-tiny, mnist-small/);
  });

  it("names like Object members ('toString', 'constructor', '__proto__') are unknown presets too", () => {
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(() => preset(name), name).toThrow(new RegExp(`^unknown preset '${name}'; choose one of: mnist-tiny`));
    }
  });

  it("count the paper models' parameters within 5% of Table 1, without allocating", () => {
    const before = tf.memory().numTensors;
    const within = (got: number, want: number) => Math.abs(got - want) / want;
    const p11 = FarmerModel.countParams(preset('farmer-1.1b-p16'));
    expect(within(p11.ar, 295e6)).toBeLessThan(0.05);
    expect(within(p11.flow, 828e6)).toBeLessThan(0.05);
    const p19 = FarmerModel.countParams(preset('farmer-1.9b-p8'));
    expect(within(p19.ar, 498e6)).toBeLessThan(0.05);
    expect(within(p19.flow, 1.4e9)).toBeLessThan(0.05);
    const p556 = FarmerModel.countParams(preset('farmer-556m'));
    expect(within(p556.total, 556e6)).toBeLessThan(0.05);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses an informativeDim larger than a token', () => {
    expect(() => FarmerModel.create({ ...small, ar: { ...small.ar, informativeDim: 5 } })).toThrow(/ar\.informativeDim: informativeDim 5 exceeds the 4 dims of a token/);
  });
});
