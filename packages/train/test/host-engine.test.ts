import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng, tf } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdamW, adamwUpdate, Ema, emaDecayAt, emaUpdate, hostEngine, hostGlobalNorm, TrainingRun, type HostGradient, type RunEvent } from '../src/index.js';
import { PIXELS, toyConfigSchema, toyData, toyObjective, type ToyTypes } from './toy-objective.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

const maxRel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
};

/** The toy's exact gradient on the host: loss = mean_b r_b², r_b = x_b·w + c − 0.5. */
function toyHostGradient(): HostGradient<ToyTypes['batch'], ToyTypes['figures']> {
  return {
    name: 'host',
    threads: 1,
    gradient: async ([w, c], b) => {
      const gw = new Float64Array(PIXELS);
      let gc = 0;
      let loss = 0;
      for (let s = 0; s < b.count; s++) {
        let r = c[0] - 0.5;
        for (let j = 0; j < PIXELS; j++) r += b.x[s * PIXELS + j] * w[j];
        loss += r * r;
        for (let j = 0; j < PIXELS; j++) gw[j] += (2 * r * b.x[s * PIXELS + j]) / b.count;
        gc += (2 * r) / b.count;
      }
      return { loss: loss / b.count, figures: { target: 0.5 }, grads: [Float32Array.from(gw), Float32Array.from([gc])] };
    },
    dispose: () => undefined,
  };
}

describe('host optimizer arithmetic', () => {
  it('adamwUpdate equals tfjs AdamW over 5 steps (float32 rounding, relative 1e-6), with and without decay and scaling', () => {
    const rng = new Rng('adamw');
    const p0 = [rng.normal(12), rng.normal(4)];
    const shapes = [[3, 4], [4]];
    const vars = p0.map((p, i) => tf.variable(tf.tensor(p, shapes[i])));
    const opts = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.03 };
    const tfOpt = new AdamW(vars, opts);
    const host = p0.map((p) => Float32Array.from(p));
    const m = p0.map((p) => new Float32Array(p.length));
    const v = p0.map((p) => new Float32Array(p.length));
    for (let step = 1; step <= 5; step++) {
      const g = p0.map((p) => rng.normal(p.length));
      const scale = step === 3 ? 0.25 : 1;
      const lr = 1e-2 * step;
      tf.tidy(() => tfOpt.apply(g.map((x, i) => tf.mul(tf.tensor(x, shapes[i]), scale)), lr));
      host.forEach((p, i) => adamwUpdate(p, g[i], m[i], v[i], { ...opts, lr, scale, step, decay: shapes[i].length >= 2 }));
    }
    vars.forEach((x, i) => expect(maxRel(host[i], x.dataSync())).toBeLessThan(1e-6));
    const st = tfOpt.rawState();
    m.forEach((x, i) => expect(maxRel(x, st.m[i])).toBeLessThan(1e-6));
    tfOpt.dispose();
    tf.dispose(vars);
  });

  it('emaUpdate equals the tfjs EMA, and the global norm is √Σg²', () => {
    const p = tf.variable(tf.tensor([1, 2, 3]));
    const ema = new Ema([p], 0.99);
    const host = Float32Array.from([1, 2, 3]);
    for (let n = 0; n < 4; n++) {
      p.assign(tf.tensor([1 + n, 2 - n, 3 * n]));
      ema.update();
      emaUpdate(host, Float32Array.from([1 + n, 2 - n, 3 * n]), emaDecayAt(0.99, n));
    }
    expect(maxRel(host, ema.rawState().weights[0])).toBeLessThan(1e-7);
    expect(hostGlobalNorm([Float32Array.from([3]), Float32Array.from([4, 12])])).toBe(13);
    expect(hostGlobalNorm([Float32Array.from([NaN])])).toBeNaN();
    ema.dispose();
    p.dispose();
  });
});

describe('HostEngine', () => {
  const train = toyData(96, 1);
  const cfg = (o: Record<string, unknown> = {}) => toyConfigSchema.parse({ steps: 12, batchSize: 8, lr: 0.05, warmupSteps: 2, evalEvery: 0, checkpointEvery: 0, ema: 0.9, gradClip: 0.5, ...o });
  const losses = (ev: RunEvent<ToyTypes>[]) => ev.flatMap((e) => (e.type === 'step' ? [e.loss] : []));

  it('tracks the tfjs engine on the same objective (losses relative 1e-5 over 12 clipped steps) and reports its name', async () => {
    const a = toyObjective(cfg());
    const b = toyObjective(cfg());
    const ea: RunEvent<ToyTypes>[] = [];
    const eb: RunEvent<ToyTypes>[] = [];
    await TrainingRun.create<ToyTypes>(a, { train, onEvent: (e) => ea.push(e) }).run();
    const s = await TrainingRun.create<ToyTypes>(b, { train, engine: hostEngine(toyHostGradient), onEvent: (e) => eb.push(e) }).run();
    expect(s.engine).toBe('host');
    expect(eb.find((e) => e.type === 'step')).toMatchObject({ engine: 'host', workers: 1 });
    expect(maxRel(losses(eb), losses(ea))).toBeLessThan(1e-5);
    // After the run, the objective's model holds the host engine's weights.
    a.values().forEach((w, i) => expect(maxRel(b.values()[i], w)).toBeLessThan(1e-5));
    a.dispose();
    b.dispose();
  });

  it('resumes exactly on the host engine', async () => {
    const full: RunEvent<ToyTypes>[] = [];
    const a = toyObjective(cfg());
    const fullRun = TrainingRun.create<ToyTypes>(a, { train, engine: hostEngine(toyHostGradient), onEvent: (e) => full.push(e) });
    await fullRun.run();
    const dir = mkdtempSync(join(tmpdir(), 'farmer-host-'));
    const ac = new AbortController();
    const first: RunEvent<ToyTypes>[] = [];
    const b = toyObjective(cfg());
    await TrainingRun.create<ToyTypes>(b, {
      train,
      outDir: dir,
      signal: ac.signal,
      engine: hostEngine(toyHostGradient),
      onEvent: (e) => {
        first.push(e);
        if (e.type === 'step' && e.step === 7) ac.abort();
      },
    }).run();
    const rest: RunEvent<ToyTypes>[] = [];
    const c = toyObjective(cfg());
    const run = await TrainingRun.resume<ToyTypes>(
      dir,
      (ck) => {
        c.load(c.fromTensorMap(ck.tensors.model, 'model'));
        return c;
      },
      { train, engine: hostEngine(toyHostGradient), onEvent: (e) => rest.push(e) },
    );
    await run.run();
    expect([...losses(first), ...losses(rest)]).toEqual(losses(full));
    expect(c.values()).toEqual(a.values());
    // Weights, moments and EMA all come back exactly.
    expect(await run.trainedState()).toEqual(await fullRun.trainedState());
    for (const o of [a, b, c]) o.dispose();
  });
});
