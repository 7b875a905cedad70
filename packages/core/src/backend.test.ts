import { afterEach, describe, expect, it } from 'vitest';
import { initBackend, describeBackend } from './backend.js';
import { isFarmerError } from './errors.js';
import { tf } from './tf.js';

describe('initBackend', () => {
  const saved = process.env.FARMER_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.FARMER_BACKEND;
    else process.env.FARMER_BACKEND = saved;
  });

  it('picks the best available backend and says why better ones were skipped', async () => {
    delete process.env.FARMER_BACKEND;
    const info = await initBackend();
    // tfjs-node cannot install on these machines, so auto lands on wasm.
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.requested).toBe('auto');
    expect(info.gradients).toBe(true);
    expect(info.fastMatMulGrad).toBe(true);
    expect(info.skipped.map((s) => s.name)).toEqual(['tensorflow']);
    expect(info.skipped[0].reason).toMatch(/tfjs-node-gpu: not installed; @tensorflow\/tfjs-node: not installed/);
    expect(describeBackend(info)).toMatch(/backend wasm/);
  });

  it('honours FARMER_BACKEND and the option, option first', async () => {
    process.env.FARMER_BACKEND = 'cpu';
    expect((await initBackend()).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect((await initBackend({ backend: 'wasm' })).name).toBe('wasm');
  });

  it('fails clearly when a requested backend is missing', async () => {
    const err = await initBackend({ backend: 'tensorflow' }).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_BACKEND')).toBe(true);
    expect(err.message).toMatch(/tensorflow: .*not installed/);
    expect(err.message).toMatch(/Install @tensorflow\/tfjs-node/);
    await initBackend({ backend: 'wasm' });
  });

  it('rejects an unknown backend name', async () => {
    process.env.FARMER_BACKEND = 'webgpu';
    const err = await initBackend().catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_BACKEND')).toBe(true);
    expect(err.message).toMatch(/Unknown backend 'webgpu'.*auto, tensorflow, wasm, cpu/);
  });
});

describe('BatchMatMul gradient choice', () => {
  it('is the explicit-transpose one on wasm only', async () => {
    expect((await initBackend({ backend: 'wasm' })).fastMatMulGrad).toBe(true);
    expect((await initBackend({ backend: 'cpu' })).fastMatMulGrad).toBe(false);
    expect((await initBackend({ backend: 'wasm', fastMatMulGrad: false })).fastMatMulGrad).toBe(false);
    expect((await initBackend({ backend: 'wasm' })).fastMatMulGrad).toBe(true);
  });
});
