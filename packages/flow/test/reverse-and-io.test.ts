import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, initBackend, isFarmerError, normalTensor, readCheckpoint, Rng, tf } from '@farmer/core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { assertFiniteTokens, blockWeights, Flow, flowParamShapes, importTarflowCheckpoint, importTarflowStateDict, loadFlow, saveFlowCheckpoint } from '../src/index.js';
import { maxAbsDiff } from '@farmer/test-utils';
import { randomFlow } from './helpers.js';

const cond = { inChannels: 1, imageSize: 8, patchSize: 2, width: 32, numBlocks: 2, layersPerBlock: 2, headDim: 16, numClasses: 3 };
const fixtures = join(__dirname, 'fixtures', 'tarflow');
const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-flow-'));

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('KV-cached reverse', () => {
  for (const guidance of [undefined, { scale: 1.2 }, { scale: 2, annealed: true, attnTemp: 1.4 }]) {
    it(`equals the naive reverse that recomputes the prefix (guidance ${JSON.stringify(guidance)})`, async () => {
      const flow = randomFlow(cond, 11);
      const z = normalTensor(new Rng(3), [3, flow.numTokens, flow.tokenDim]) as tf.Tensor3D;
      const labels = [2, -1, 0];
      const fast = await flow.reverse(z, { labels, guidance });
      const naive = await flow.reverse(z, { labels, guidance, useKVCache: false });
      expect(maxAbsDiff(fast.dataSync(), naive.dataSync())).toBeLessThan(2e-5);
      tf.dispose([z, fast, naive]);
      flow.dispose();
    });
  }

  it("resolves a block's weights once for all its tokens, not at every token", async () => {
    const flow = randomFlow(cond, 12);
    const z = normalTensor(new Rng(5), [2, flow.numTokens, flow.tokenDim]) as tf.Tensor3D;
    const get = vi.spyOn(flow.params, 'get');
    blockWeights(flow.params, flow.config, 1);
    const once = get.mock.calls.length;
    get.mockClear();
    const x = await flow.reverseBlock(1, z, { labels: [1, -1], guidance: { scale: 1 } });
    expect(get.mock.calls.length).toBe(once);
    get.mockRestore();
    tf.dispose([z, x]);
    flow.dispose();
  });

  it('guidance changes the result, and g = 0 equals no guidance', async () => {
    const flow = randomFlow(cond, 12);
    const z = normalTensor(new Rng(4), [2, flow.numTokens, flow.tokenDim]) as tf.Tensor3D;
    const a = await flow.reverse(z, { labels: [1, 2] });
    const b = await flow.reverse(z, { labels: [1, 2], guidance: { scale: 0 } });
    const c = await flow.reverse(z, { labels: [1, 2], guidance: { scale: 1 } });
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBe(0);
    expect(maxAbsDiff(a.dataSync(), c.dataSync())).toBeGreaterThan(1e-3);
    tf.dispose([z, a, b, c]);
    flow.dispose();
  });

  it('leaks no tensors across reverses, reports progress and honours AbortSignal', async () => {
    const flow = randomFlow(cond, 13);
    const z = normalTensor(new Rng(5), [2, flow.numTokens, flow.tokenDim]) as tf.Tensor3D;
    const warm = await flow.reverse(z, { labels: [0, 1], guidance: { scale: 1 } });
    warm.dispose();
    const before = tf.memory().numTensors;
    let calls = 0;
    for (let i = 0; i < 3; i++) (await flow.reverse(z, { labels: [0, 1], guidance: { scale: 1 }, onProgress: () => calls++ })).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(calls).toBe(3 * 2 * (flow.numTokens - 1));
    const ac = new AbortController();
    const p = flow.reverse(z, { onProgress: (e) => e.token === 3 && ac.abort(), signal: ac.signal });
    const err = await p.catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_ABORTED')).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    z.dispose();
    flow.dispose();
  });

  it('reports a non-finite reverse with its block and token', async () => {
    const flow = randomFlow({ ...cond, numClasses: 0 }, 14, 40);
    const z = tf.mul(normalTensor(new Rng(6), [1, flow.numTokens, flow.tokenDim]), 30) as tf.Tensor3D;
    const err = await flow.reverse(z).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_NON_FINITE')).toBe(true);
    expect(err.message).toMatch(/block 1 at token \d+ \(sample 0\).*alphaClamp/);
    z.dispose();
    flow.dispose();
  });

  it('names the first bad token in the block\'s working order, and its sample (host check)', () => {
    // [B=2, N=4, d=2]: sample 0 bad at token 1, sample 1 bad at token 3.
    const x = new Float32Array(16);
    x[(0 * 4 + 1) * 2 + 1] = NaN;
    x[(1 * 4 + 3) * 2] = Infinity;
    const details = (t: number) => {
      try {
        assertFiniteTokens(x, [2, 4, 2], t, 'reverse');
      } catch (e) {
        expect(isFarmerError(e, 'FARMER_E_NON_FINITE')).toBe(true);
        return (e as { details: unknown }).details;
      }
      return undefined;
    };
    expect(details(0)).toEqual({ block: 0, token: 1, sample: 0 });
    // Block 1 runs its tokens in reverse, so token 3 went wrong first.
    expect(details(1)).toEqual({ block: 1, token: 3, sample: 1 });
    expect(() => assertFiniteTokens(new Float32Array(16), [2, 4, 2], 0, 'forward')).not.toThrow();
  });

  it('alphaClamp bounds |α| and keeps the flow exactly invertible', async () => {
    const c = 0.01;
    const free = randomFlow(cond, 15, 0.3);
    const clamped = new Flow({ ...cond, alphaClamp: c }, free.params);
    const x = normalTensor(new Rng(7), [2, free.numTokens, free.tokenDim], 0.5) as tf.Tensor3D;
    const bound = c * free.numTokens * free.tokenDim;
    const maxLd = (f: Flow) => tf.tidy(() => Math.max(...f.forward(x, { labels: [0, 1] }).logdets.flatMap((l) => Array.from(l.dataSync(), Math.abs))));
    // Without the clamp some block exceeds the bound; with it, none does.
    expect(maxLd(free)).toBeGreaterThan(bound);
    expect(maxLd(clamped)).toBeLessThanOrEqual(bound);
    const z = tf.tidy(() => clamped.forward(x, { labels: [0, 1] }).z);
    const back = await clamped.reverse(z, { labels: [0, 1] });
    expect(maxAbsDiff(back.dataSync(), x.dataSync())).toBeLessThan(1e-4);
    tf.dispose([x, z, back]);
    free.dispose();
  });
});

describe('training graph', () => {
  it('has a finite, non-zero gradient for every weight', () => {
    const flow = randomFlow(cond, 16);
    const x = normalTensor(new Rng(8), [4, flow.numTokens, flow.tokenDim], 0.5) as tf.Tensor3D;
    const { grads, value } = tf.variableGrads(() =>
      tf.tidy(() => {
        const { z, logdets } = flow.forward(x, { labels: [0, 1, 2, -1] });
        const nll = tf.sub(tf.mul(tf.sum(tf.square(z)), 0.5), tf.addN(logdets.map((l) => tf.sum(l))));
        return nll as tf.Scalar;
      }),
      flow.params.variables(),
    );
    const names = flow.params.names();
    expect(Object.keys(grads)).toHaveLength(names.length);
    flow.params.variables().forEach((v, i) => {
      const g = grads[v.name].dataSync();
      expect(g.every(Number.isFinite), names[i]).toBe(true);
      expect(g.some((e) => e !== 0), names[i]).toBe(true);
    });
    tf.dispose([x, value, ...Object.values(grads)]);
    flow.dispose();
  });
});

describe('images, checkpoints and import', () => {
  it('encodes u8 images to latents and decodes them back to the same bytes', async () => {
    const flow = randomFlow({ ...cond, numClasses: 0 }, 17);
    const data = Uint8Array.from({ length: 2 * 64 }, (_, i) => (i * 53) % 256);
    const images = { data, count: 2, height: 8, width: 8, channels: 1 };
    const enc = await flow.encode(images, { keepLatents: true });
    expect(enc.latents).toHaveLength(2);
    const dec = await flow.decode(enc.z);
    expect(dec.data).toEqual(data);
    tf.dispose([enc.z, ...enc.logdets, ...enc.latents!]);
    await expect(flow.encode({ ...images, channels: 3, data: new Uint8Array(2 * 64 * 3) })).rejects.toThrow(/this flow takes 8×8×1/);
    flow.dispose();
  });

  it('saves and loads a flow checkpoint with PyTorch-layout weights', async () => {
    const flow = randomFlow(cond, 18);
    const dir = join(tmp(), 'flow');
    await saveFlowCheckpoint(dir, flow);
    const ck = await readCheckpoint(dir);
    expect(ck.config.kind).toBe('flow');
    // Linear weights are stored [out, in] like PyTorch.
    expect(ck.tensors.model['flow.blocks.0.proj_in.weight'].shape).toEqual([32, 4]);
    expect(ck.tensors.model['flow.blocks.0.class_embed'].shape).toEqual([3, 1, 32]);
    const back = await loadFlow(dir);
    const x = normalTensor(new Rng(9), [1, flow.numTokens, flow.tokenDim]) as tf.Tensor3D;
    const a = tf.tidy(() => flow.forward(x, { labels: [1] }).z.dataSync());
    const b = tf.tidy(() => back.forward(x, { labels: [1] }).z.dataSync());
    expect(maxAbsDiff(a, b)).toBe(0);
    tf.dispose(x);
    flow.dispose();
    back.dispose();
  });

  it('imports a PyTorch TARFlow state dict into our checkpoint format', async () => {
    const hyper = JSON.parse(readFileSync(join(fixtures, 'cond.config.json'), 'utf8'));
    const out = join(tmp(), 'imported');
    const { flow } = await importTarflowCheckpoint(join(fixtures, 'cond.weights.safetensors'), hyper, out);
    const loaded = await loadFlow(out);
    expect(loaded.config).toEqual(flow.config);
    const ck = await readCheckpoint(out);
    expect(Object.keys(ck.tensors.model).sort()).toEqual(Object.keys(flowParamShapes(flow.config)).map((k) => `flow.${k}`).sort());
    expect(ck.config.meta?.skippedBuffers).toContain('var');
    flow.dispose();
    loaded.dispose();
  });

  it('refuses hyper-parameters that do not match the weights, naming the tensor', () => {
    const bytes = readFileSync(join(fixtures, 'cond.weights.safetensors'));
    const hyper = JSON.parse(readFileSync(join(fixtures, 'cond.config.json'), 'utf8'));
    expect(() => importTarflowStateDict(bytes, { ...hyper, channels: 32, head_dim: 8 }, 'w.safetensors')).toThrow(/w\.safetensors: tensor 'blocks\.0\.proj_in\.weight' has shape \[24,48\], the config needs \[32,48\]/);
    expect(() => importTarflowStateDict(bytes, { ...hyper, num_blocks: 1 }, 'w.safetensors')).toThrow(/unexpected tensor|attn_mask/);
    expect(() => importTarflowStateDict(bytes, { ...hyper, patch_size: 'four' }, 'w.safetensors')).toThrow(/patch_size/);
  });

  it("refuses an extra tensor named '__proto__' (after the DataParallel prefix) like any unknown tensor", () => {
    const bytes = readFileSync(join(fixtures, 'cond.weights.safetensors'));
    const hyper = JSON.parse(readFileSync(join(fixtures, 'cond.config.json'), 'utf8'));
    const { tensors } = decodeSafetensors(bytes);
    const extra = encodeSafetensors(Object.fromEntries([...Object.entries(tensors), ['module.__proto__', { dtype: 'F32', shape: [1], data: Float32Array.of(1) }]]));
    expect(() => importTarflowStateDict(extra, hyper, 'w.safetensors')).toThrow(/w\.safetensors: unexpected tensor '__proto__'/);
  });

  it('validates flow configs with messages naming the field', () => {
    expect(() => Flow.create({ inChannels: 1, imageSize: 8, patchSize: 3, width: 32, numBlocks: 1, layersPerBlock: 1, headDim: 16 })).toThrow(/patchSize: imageSize 8 must be a multiple of patchSize 3/);
    expect(() => Flow.create({ inChannels: 1, imageSize: 8, patchSize: 2, width: 30, numBlocks: 1, layersPerBlock: 1, headDim: 16 })).toThrow(/headDim: width 30 must be a multiple of headDim 16/);
  });
});
