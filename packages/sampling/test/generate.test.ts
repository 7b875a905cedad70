import { FarmerError, gatherExamples, initBackend, isFarmerError, loadDataset, tf } from '@farmer/core';
import { FarmerModel, preset, TfRunner, Trainer, type DecodeOptions, type FarmerRunner } from '@farmer/ar-gmm';
import { u8Diff } from '@farmer/test-utils';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeRedrawn, generate, GENERATE_OPTIONS_SCHEMA, resolveGenerateOptions } from '../src/index.js';

let model: FarmerModel;
let runner: TfRunner;

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  // A mnist-tiny model trained briefly in the test, so samples come from a real fit.
  const all = await loadDataset('mnist');
  const train = { ...all, ...gatherExamples(all, Int32Array.from({ length: 1024 }, (_, i) => i * 8)) };
  model = FarmerModel.create(preset('mnist-tiny'), 11);
  const t = Trainer.create({ model, train, config: { steps: 60, batchSize: 16, lr: 3e-3, warmupSteps: 5, evalEvery: 0, checkpointEvery: 0, ema: null } });
  await t.run();
  t.dispose();
  runner = new TfRunner(model);
});

afterAll(() => model.dispose());

describe('generate', () => {
  it('draws images of the right shape and range, with mixed labels in one pass', async () => {
    const r = await generate(runner, { count: 6, labels: [0, 1, 2, 3, 4, 5], seed: 1, cfg: { w: 1.5 } });
    expect([r.images.count, r.images.height, r.images.width, r.images.channels]).toEqual([6, 28, 28, 1]);
    expect(r.images.data.length).toBe(6 * 784);
    expect(Array.from(r.labels)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.parameters.sampler).toBe('resampling-cfg');
    expect(r.parameters.cfg).toMatchObject({ w: 1.5, sc: 5, su: 5, sharpen: 1.1, schedule: 'constant' });
    // Real samples vary: not a constant image, and both dark and light pixels occur.
    const px = Array.from(r.images.data);
    expect(Math.max(...px) - Math.min(...px)).toBeGreaterThan(100);
    expect(new Set(px).size).toBeGreaterThan(20);
    expect(r.timings.arSeconds).toBeGreaterThan(0);
    expect(r.timings.afSeconds).toBeGreaterThan(0);
    expect(r.runtime).toBe('tfjs');
  });

  it('gives identical images for the same seed and different ones for another seed', async () => {
    const a = await generate(runner, { count: 3, labels: [7, 7, 2], seed: 5 });
    const b = await generate(runner, { count: 3, labels: [7, 7, 2], seed: 5 });
    const c = await generate(runner, { count: 3, labels: [7, 7, 2], seed: 6 });
    expect(b.images.data).toEqual(a.images.data);
    expect(c.images.data).not.toEqual(a.images.data);
  });

  it('a batch equals one-at-a-time generation with the same per-image seeds', async () => {
    for (const opts of [{ labels: [3, 1, 4, 1], sampler: 'resampling-cfg' as const }, { labels: null, sampler: 'decoupled' as const }]) {
      const batch = await generate(runner, { count: 4, seed: 9, ...opts });
      for (let i = 0; i < 4; i++) {
        const one = await generate(runner, { count: 1, labels: opts.labels ? [opts.labels[i]] : null, imageSeeds: [`9:${i}`], sampler: opts.sampler });
        expect(one.images.data, `${opts.sampler} image ${i}`).toEqual(batch.images.data.subarray(i * 784, (i + 1) * 784));
      }
    }
  });

  it('runs every sampler, and chunks a request into passes', async () => {
    for (const sampler of ['decoupled', 'naive-cfg', 'resampling-cfg'] as const) {
      const r = await generate(runner, { count: 5, labels: 3, seed: 2, sampler, batchSize: 2 });
      expect(r.images.count).toBe(5);
      expect(r.parameters.sampler).toBe(sampler);
    }
  });

  it('uses the KV caches: no matMul ever reprocesses the prefix of the AR or the AF', async () => {
    const B = 2;
    const prof = await tf.profile(async () => {
      await generate(runner, { count: B, labels: [1, 2], seed: 3 });
    });
    const { numTokens: N, seqLen } = model.dims;
    const M = model.config.ar.prefixLength;
    // Linear layers see [rows, in]: one token per row per step (the AR runs the class and null
    // streams of CFG as 2B rows, the AF B rows), or the M-token class prefix once.
    const rows = prof.kernels.filter((k) => k.name === 'BatchMatMul' && k.inputShapes[0].length === 2).map((k) => k.inputShapes[0][0]);
    expect(rows.length).toBeGreaterThan(N);
    for (const r of rows) expect([B, 2 * B, 2 * B * M]).toContain(r);
    // Attention reads the cache: its key length grows by one per step and never exceeds the sequence.
    const keyLens = prof.kernels.filter((k) => k.name === 'BatchMatMul' && k.inputShapes[0].length === 4).map((k) => k.inputShapes[1][3]);
    expect(Math.max(...keyLens)).toBeLessThanOrEqual(seqLen);
  });

  it('does not grow the tensor count over repeated requests, and honours AbortSignal', async () => {
    await generate(runner, { count: 2, labels: [1, 2], seed: 4 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await generate(runner, { count: 2, labels: [1, 2], seed: 4 + i });
    expect(tf.memory().numTensors).toBe(before);
    const ac = new AbortController();
    const err = await generate(runner, { count: 2, labels: [1, 2], signal: ac.signal, onProgress: (e) => e.phase === 'ar' && e.token === 5 && ac.abort() }).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_ABORTED')).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports progress through both phases', async () => {
    const phases = new Set<string>();
    let lastAr = 0;
    await generate(runner, { count: 1, labels: [0], onProgress: (e) => (phases.add(e.phase), e.phase === 'ar' && (lastAr = e.token)) });
    expect([...phases]).toEqual(['ar', 'af']);
    expect(lastAr).toBe(model.dims.numTokens);
  });

  it('validates options with errors that name the field', () => {
    const cases: [object, RegExp][] = [
      [{ count: 0 }, /count/],
      [{ count: 2, labels: [1] }, /labels must have one entry per image \(2\)/],
      [{ count: 1, labels: [10] }, /labels\[0\] must be an integer class in \[0, 9\]/],
      [{ count: 1, labels: [1], cfg: { w: -1 } }, /w/],
      [{ count: 1, sampler: 'resampling-cfg' }, /needs class labels/],
      [{ count: 1, informative: { temperature: 0 } }, /informative\.temperature/],
      [{ count: 1, decoder: 'student' }, /decoder 'student' is not available/],
      [{ count: 1, seed: -3 }, /seed must be ≥ 0, got -3/],
      [{ count: 1, seed: 0.5 }, /seed must be an integer, got 0\.5/],
      [{ count: 1, cfg: { ww: 1 } }, /cfg\.ww is not an option/],
      [{ count: 1, labels: [1, 'a'] }, /labels\[1\] must be a number, got 'a'/],
      [{ count: 1, labels: [1], cfg: { schedule: 'cubic' } }, /cfg\.schedule/],
    ];
    for (const [o, re] of cases) {
      let err: unknown;
      try {
        resolveGenerateOptions(runner, o as never);
      } catch (e) {
        err = e;
      }
      expect(isFarmerError(err, 'FARMER_E_BAD_INPUT'), JSON.stringify(o)).toBe(true);
      expect((err as Error).message).toMatch(re);
    }
  });

  it('takes count from the labels (or the image seeds) when it is not given, and naive.w from cfg.w', () => {
    expect(resolveGenerateOptions(runner, { labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] })).toMatchObject({ count: 10, labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect(resolveGenerateOptions(runner, { labels: 4 })).toMatchObject({ count: 1, labels: [4] });
    expect(resolveGenerateOptions(runner, { labels: 4, count: 3 })).toMatchObject({ count: 3, labels: [4, 4, 4] });
    expect(resolveGenerateOptions(runner, { imageSeeds: ['7:1', '7:4'] }).count).toBe(2);
    expect(resolveGenerateOptions(runner, {}).count).toBe(1);
    expect(resolveGenerateOptions(runner, { labels: 2, sampler: 'naive-cfg', cfg: { w: 1.7 } }).naive).toEqual({ w: 1.7, temperature: 1, scale: 1, maxStdRatio: 2 });
    expect(() => resolveGenerateOptions(runner, { labels: 2, sampler: 'naive-cfg', naive: { w: -1 } })).toThrow(/naive\.w must be ≥ 0, got -1/);
  });

  it('checks the options once per request, never per image or token', async () => {
    const shape = GENERATE_OPTIONS_SCHEMA.shape;
    const spies = [GENERATE_OPTIONS_SCHEMA, shape.cfg, shape.naive, shape.redundant.unwrap()].map((s) => vi.spyOn(s, 'safeParse'));
    try {
      for (const sampler of ['resampling-cfg', 'naive-cfg', 'decoupled'] as const) {
        await generate(runner, { labels: [1, 2, 3], seed: 2, sampler, batchSize: 2 });
      }
      expect(spies.map((s) => s.mock.calls.length)).toEqual([3, 0, 0, 0]);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
  });

  it('reports a non-finite result with its position instead of returning a broken image', async () => {
    const broken = FarmerModel.create(preset('mnist-tiny'), 12);
    const v = broken.ar.params.get('head_informative.bias');
    v.assign(tf.fill(v.shape, NaN));
    const err = await generate(new TfRunner(broken), { count: 1, sampler: 'decoupled' }).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_NON_FINITE')).toBe(true);
    expect(err.message).toMatch(/row 0|token|image 0/);
    broken.dispose();
  });
});

/** `runner` whose decode fails (FARMER_E_NON_FINITE naming the row, as the AF inverse does) on the rows `fails` picks. */
function faultyDecoder(inner: TfRunner, fails: (row: Float32Array, call: number, b: number) => boolean): FarmerRunner & { calls: number } {
  const r = {
    calls: 0,
    config: inner.config,
    runtime: inner.runtime,
    decoders: inner.decoders,
    openArStream: (labels: ArrayLike<number>) => inner.openArStream(labels),
    async decode(z: Float32Array, batch: number, options?: DecodeOptions) {
      const call = r.calls++;
      const size = z.length / batch;
      for (let b = 0; b < batch; b++) {
        if (fails(z.subarray(b * size, (b + 1) * size), call, b)) {
          throw new FarmerError('FARMER_E_NON_FINITE', `flow reverse produced a non-finite value in block 0 at token 7 (sample ${b})`, { block: 0, token: 7, sample: b });
        }
      }
      return inner.decode(z, batch, options);
    },
  };
  return r;
}

describe('undecodable latents are drawn again', () => {
  const request = { count: 5, labels: [0, 1, 2, 3, 4], seed: 4, batchSize: 4, cfg: { w: 1.5 } };
  const image = (r: { images: { data: Uint8Array } }, i: number) => r.images.data.subarray(i * 784, (i + 1) * 784);

  it('redraws only the image the decoder cannot invert; every other image is unchanged, and the result is reproducible', async () => {
    // The latents image 2 first draws, recorded from a clean run.
    const seen: Float32Array[] = [];
    const recorder = faultyDecoder(runner, (row) => (seen.push(row.slice()), false));
    const clean = await generate(recorder, request);
    expect(clean.redrawn).toEqual([]);
    const poisoned = seen[2];
    const same = (row: Float32Array) => row.every((v, k) => v === poisoned[k]);
    const r = await generate(faultyDecoder(runner, same), request);
    expect(r.redrawn).toEqual([{ image: 2, attempts: 1 }]);
    for (const i of [0, 1, 3, 4]) expect(u8Diff(image(r, i), image(clean, i)).differ, `image ${i}`).toBe(0);
    expect(u8Diff(image(r, 2), image(clean, 2)).differ).toBeGreaterThan(0);
    // Same seed, same redraw; and the redraw does not depend on the batch the image is in.
    const again = await generate(faultyDecoder(runner, same), { ...request, batchSize: 1 });
    expect(again.redrawn).toEqual([{ image: 2, attempts: 1 }]);
    expect(u8Diff(image(again, 2), image(r, 2)).differ).toBe(0);
  });

  it('counts repeated failures, gives up after `redraws` fresh draws naming the image, and redraws 0 keeps the first error', async () => {
    // Row 1 of the first batch fails in the first decode and again in the retry: two fresh draws.
    const r = await generate(faultyDecoder(runner, (_row, call, b) => call < 2 && b === 1), request);
    expect(r.redrawn).toEqual([{ image: 1, attempts: 2 }]);
    expect(describeRedrawn(r.redrawn, r.parameters.decoder)).toBe(
      'the exact AF inverse could not invert (non-finite) the first latents of 1 image: 1 (2 draws); it was drawn again from its own seed',
    );
    expect(describeRedrawn([{ image: 3, attempts: 1 }, { image: 7, attempts: 2 }], 'student')).toBe(
      'the student decoder could not invert (non-finite) the first latents of 2 images: 3, 7 (2 draws); they were drawn again from their own seed',
    );
    expect(describeRedrawn([], 'flow')).toBe('');
    // A row that never decodes: the default 3 fresh draws, then the error names the image.
    const never = faultyDecoder(runner, () => true);
    const err = await generate(never, { ...request, count: 1, labels: [3] }).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_NON_FINITE')).toBe(true);
    expect(err.message).toBe('generated image 0: flow reverse produced a non-finite value in block 0 at token 7 (sample 0); its latents were drawn again 3 times and none could be inverted');
    expect(never.calls).toBe(4);
    const strict = faultyDecoder(runner, () => true);
    const first0 = await generate(strict, { ...request, count: 1, labels: [3], redraws: 0 }).catch((e) => e);
    expect(first0.message).toBe('flow reverse produced a non-finite value in block 0 at token 7 (sample 0)');
    expect(strict.calls).toBe(1);
    // Other errors are not retried.
    const other = faultyDecoder(runner, () => false);
    other.decode = async () => {
      throw new FarmerError('FARMER_E_SHAPE', 'broken');
    };
    expect((await generate(other, { ...request, count: 1, labels: [3] }).catch((e) => e)).code).toBe('FARMER_E_SHAPE');
    expect(() => resolveGenerateOptions(runner, { count: 1, redraws: -1 })).toThrow(/redraws/);
  });
});
