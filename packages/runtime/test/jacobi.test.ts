import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, isFarmerError } from '@farmer/core';
import { JACOBI_PLAN_FILE, type JacobiPlanFile } from '@farmer/flow';
import { builtinModelDir } from '@farmer/models';
import { generate, measureJacobiPlan } from '@farmer/sampling';
import { beforeAll, describe, expect, it } from 'vitest';
import { openModel } from '../src/index.js';
import { tinyCheckpoint, tmp } from './helpers.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** Share of u8 values within one grey level of each other. */
function withinOneLevel(a: Uint8Array, b: Uint8Array): number {
  let ok = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) <= 1) ok++;
  return ok / a.length;
}

describe('the Jacobi plan beside a checkpoint', () => {
  it('is measured from the model, read by both runtimes, carried by the export, and refused when corrupt', async () => {
    const dir = await tinyCheckpoint(join(tmp(), 'ck'));
    const cacheRoot = join(tmp(), 'cache');
    const tf = await openModel(dir, { runtime: 'tfjs' });
    expect(tf.runner.jacobiPlan).toBeUndefined();
    const plan = await measureJacobiPlan(tf.runner, { count: 3 });
    await tf.close();
    expect(plan.blocks.map((b) => b.block)).toEqual([0, 1]);
    for (const b of plan.blocks) expect(b.iterations).toBeGreaterThanOrEqual(1);
    // A hand-made plan, so the test sees it is the file that is used.
    const mine: JacobiPlanFile = { ...plan, tough: [1], modules: 4, init: ['zeros', 'latent'] };
    writeFileSync(join(dir, JACOBI_PLAN_FILE), JSON.stringify(mine));
    for (const runtime of ['tfjs', 'auto'] as const) {
      const m = await openModel(dir, { runtime, cacheRoot });
      expect(m.runtime).toBe(runtime === 'tfjs' ? 'tfjs' : 'onnxruntime');
      expect(m.runner.jacobiPlan).toMatchObject({ tough: [1], modules: 4, init: ['zeros', 'latent'] });
      const stats: number[] = [];
      const z = new Float32Array(49 * 16).map((_, i) => Math.sin(i));
      await m.runner.decode(z, 1, { decoder: 'jacobi', onJacobiBlock: (s) => stats.push(s.residuals.length) });
      expect(stats).toEqual([4, 1]); // block 1 (tough) in 4 modules, block 0 plain
      await m.close();
    }
    // The export made on first use carries the plan for the browser.
    const manifest = JSON.parse(readFileSync(join(dir, 'onnx', 'manifest.json'), 'utf8'));
    expect(manifest.jacobiPlan.tough).toEqual([1]);
    writeFileSync(join(dir, JACOBI_PLAN_FILE), JSON.stringify({ ...mine, init: ['zeros'] }));
    const err = await openModel(dir, { runtime: 'tfjs' }).catch((e) => e);
    expect(isFarmerError(err) && err.code).toBe('FARMER_E_CORRUPT');
    expect(err.message).toMatch(/jacobi-plan\.json is not a valid Jacobi plan \(it is for 1 AF blocks, this model has 2\)/);
  });
});

describe('Jacobi decoding of the built-in models', () => {
  // The bar of docs/method.md §3.13 Jacobi decoding: at the default tolerance, ≥ 99.9% of pixels within 1 grey level of the sequential inverse.
  for (const name of ['mnist-small', 'fashion-small']) {
    it(`${name}: Jacobi images equal the sequential inverse's within 1 grey level on ≥ 99.9% of pixels, with CFG and decoupled sampling`, async () => {
      const m = await openModel(builtinModelDir(name), { runtime: 'onnx' });
      try {
        expect(m.runner.decoders).toContain('jacobi');
        for (const cfg of [true, false]) {
          const base = { count: 20, batchSize: 10, seed: 3, labels: Array.from({ length: 20 }, (_, i) => (cfg ? i % 10 : -1)), sampler: cfg ? ('resampling-cfg' as const) : ('decoupled' as const) };
          const exact = await generate(m.runner, { ...base, decoder: 'flow' });
          const jacobi = await generate(m.runner, { ...base, decoder: 'jacobi' });
          const share = withinOneLevel(exact.images.data, jacobi.images.data);
          console.log(`${name} ${base.sampler}: ${(100 * share).toFixed(3)}% of pixels within 1 level; passes per block ${jacobi.timings.jacobiIterations!.map((v) => v.toFixed(1)).join(' ')}`);
          expect(share).toBeGreaterThanOrEqual(0.999);
          expect(Math.max(...jacobi.timings.jacobiIterations!)).toBeLessThan(48);
        }
      } finally {
        await m.close();
      }
    });
  }
});
