import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, isFarmerError, readCheckpoint, tf } from '@farmer/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { emaDecayAt, optimizerFromTensorMap, optimizerToTensorMap, TrainingRun, type RunEvent, type TrainEngine } from '../src/index.js';
import { toyConfigSchema, toyData, toyObjective, type ToyTypes } from './toy-objective.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-run-'));
const train = toyData(96, 1);
const test = toyData(32, 2, 'test');
const cfg = (o: Record<string, unknown> = {}) => toyConfigSchema.parse({ steps: 12, batchSize: 8, lr: 0.05, warmupSteps: 2, evalEvery: 0, checkpointEvery: 0, ema: 0.9, ...o });
const losses = (events: RunEvent<ToyTypes>[]) => events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('TrainingRun', () => {
  it('checks the output location before the first step: an existing file, a path under a file', async () => {
    const dir = tmp();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    for (const [outDir, why] of [
      [file, /cannot write the run to .*a-file: it is an existing file; choose another output directory/],
      [join(file, 'run'), /cannot write the run to .*a-file\/run: a parent of it is a file/],
    ] as const) {
      const o = toyObjective(cfg());
      const events: RunEvent<ToyTypes>[] = [];
      let err: unknown;
      try {
        await TrainingRun.create<ToyTypes>(o, { train, outDir, onEvent: (e) => events.push(e as RunEvent<ToyTypes>) }).run();
      } catch (e) {
        err = e;
      }
      expect(isFarmerError(err, 'FARMER_E_BAD_INPUT')).toBe(true);
      expect((err as Error).message).toMatch(why);
      expect(events).toHaveLength(0);
      o.dispose();
    }
  });

  it('refuses a directory that already holds a run, and resuming where there is none', async () => {
    const dir = tmp();
    const o = toyObjective(cfg({ steps: 2 }));
    await TrainingRun.create<ToyTypes>(o, { train, outDir: dir }).run();
    expect(() => TrainingRun.create<ToyTypes>(o, { train, outDir: dir })).toThrow(/already holds a run; resume it, choose another output directory, or start over with --force/);
    const err = await TrainingRun.resume<ToyTypes>(tmp(), () => o, { train }).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_NOT_FOUND')).toBe(true);
    o.dispose();
  });

  it('refuses, before the first step, a checkpoint/ folder that holds anything but a checkpoint; force replaces it', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'checkpoint'));
    writeFileSync(join(dir, 'checkpoint', 'notes.txt'), 'mine');
    const o = toyObjective(cfg({ steps: 2 }));
    const events: RunEvent<ToyTypes>[] = [];
    let err: unknown;
    try {
      await TrainingRun.create<ToyTypes>(o, { train, outDir: dir, onEvent: (e) => events.push(e) }).run();
    } catch (e) {
      err = e;
    }
    expect(isFarmerError(err, 'FARMER_E_OUTPUT_EXISTS'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/checkpoint is a folder holding 1 entry \(notes\.txt\), not a checkpoint; .*pass --force/);
    expect(events).toHaveLength(0);
    expect(readFileSync(join(dir, 'checkpoint', 'notes.txt'), 'utf8')).toBe('mine');
    await TrainingRun.create<ToyTypes>(o, { train, outDir: dir, force: true }).run();
    expect(readdirSync(join(dir, 'checkpoint')).sort()).toEqual(['config.json', 'ema.safetensors', 'manifest.json', 'model.safetensors', 'optimizer.safetensors']);
    o.dispose();
  });

  it('force starts a new run over an old one: its checkpoint replaced, its metrics restarted', async () => {
    const dir = tmp();
    const o = toyObjective(cfg({ steps: 3 }));
    await TrainingRun.create<ToyTypes>(o, { train, outDir: dir }).run();
    const again = toyObjective(cfg({ steps: 2 }));
    const s = await TrainingRun.create<ToyTypes>(again, { train, outDir: dir, force: true }).run();
    expect(s.steps).toBe(2);
    expect((await readCheckpoint(join(dir, 'checkpoint'))).config.training).toMatchObject({ step: 2 });
    const steps = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'step').map((e) => e.step);
    expect(steps).toEqual([1, 2]);
    o.dispose();
    again.dispose();
  });

  it('resumes a run whose checkpoint a crash left as checkpoint.old-* (dead writer): refuses a new run there, then puts it back', async () => {
    const dir = tmp();
    const o = toyObjective(cfg({ steps: 2 }));
    await TrainingRun.create<ToyTypes>(o, { train, outDir: dir }).run();
    const stranded = join(dir, `checkpoint.old-${spawnSync(process.execPath, ['-e', '']).pid}-0a1b2c3d`);
    renameSync(join(dir, 'checkpoint'), stranded);
    expect(() => TrainingRun.create<ToyTypes>(o, { train, outDir: dir })).toThrow(/already holds a run; resume it/);
    const run = await TrainingRun.resume<ToyTypes>(dir, () => o, { train });
    expect(run.currentStep).toBe(2);
    expect(existsSync(join(dir, 'checkpoint', 'config.json'))).toBe(true);
    expect(existsSync(stranded)).toBe(false);
    o.dispose();
  });

  it('resumes exactly: losses, weights, optimizer and EMA equal the uninterrupted run', async () => {
    const full: RunEvent<ToyTypes>[] = [];
    const a = toyObjective(cfg());
    const sa = await TrainingRun.create<ToyTypes>(a, { train, onEvent: (e) => full.push(e) }).run();
    expect(sa.steps).toBe(12);

    const dir = tmp();
    const first: RunEvent<ToyTypes>[] = [];
    const ac = new AbortController();
    const b = toyObjective(cfg());
    const s1 = await TrainingRun.create<ToyTypes>(b, {
      train,
      outDir: dir,
      signal: ac.signal,
      onEvent: (e) => {
        first.push(e);
        if (e.type === 'step' && e.step === 5) ac.abort();
      },
    }).run();
    expect(s1.stoppedBy).toBe('signal');
    const rest: RunEvent<ToyTypes>[] = [];
    const c = toyObjective(cfg({ steps: 99 }));
    const run = await TrainingRun.resume<ToyTypes>(
      dir,
      (ck, state) => {
        c.load(c.fromTensorMap(ck.tensors.model, 'model'));
        return { ...c, config: toyConfigSchema.parse(state.trainConfig) };
      },
      { train, onEvent: (e) => rest.push(e) },
    );
    expect(run.currentStep).toBe(5);
    await run.run();
    expect([...losses(first), ...losses(rest)]).toEqual(losses(full));
    expect(c.values()).toEqual(a.values());
    const ck = await readCheckpoint(join(dir, 'checkpoint'));
    expect((ck.config.training as { step: number; objective: string }).step).toBe(12);
    expect((ck.config.training as { objective: string }).objective).toBe('toy');
    // metrics.jsonl holds each step once, in order.
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'step').map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const o of [a, b, c]) o.dispose();
  });

  it('writes each metrics line as it happens', async () => {
    const dir = tmp();
    const o = toyObjective(cfg({ steps: 4 }));
    const seen: number[] = [];
    await TrainingRun.create<ToyTypes>(o, {
      train,
      outDir: dir,
      onEvent: (e) => {
        if (e.type !== 'step') return;
        // The line for this step is on disk by the time the next one is reported.
        const file = join(dir, 'metrics.jsonl');
        const onDisk = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').length : 0;
        seen.push(onDisk);
      },
    }).run();
    expect(seen).toEqual([0, 1, 2, 3]);
    o.dispose();
  });

  it('evaluates on the EMA weights and then restores the live ones exactly', async () => {
    const o = toyObjective(cfg({ steps: 6 }));
    const evals: number[] = [];
    const run = TrainingRun.create<ToyTypes>(o, { train, test, onEvent: (e) => e.type === 'eval' && evals.push(e.testLoss) });
    const s = await run.run();
    const live = o.values();
    const ema = (await run.trainedState()).ema!.weights;
    expect(ema[0]).not.toEqual(live[0]);
    // The evaluation is that of the EMA weights, not the live ones.
    o.load(ema);
    const onEma = (await o.evaluate!(test, { maxImages: 0, seed: 0 })).testLoss;
    o.load(live);
    expect(s.lastEval!.testLoss).toBe(onEma);
    expect(evals).toEqual([onEma]);
    await run.evaluate();
    expect(o.values()).toEqual(live);
    o.dispose();
  });

  it('round-trips the optimizer part of a checkpoint', () => {
    const params = [
      { name: 'w', shape: [2, 3] },
      { name: 'c', shape: [3] },
    ];
    const s = { m: [Float32Array.from([1, 2, 3, 4, 5, 6]), Float32Array.from([7, 8, 9])], v: [new Float32Array(6).fill(0.5), new Float32Array(3).fill(2)], step: 17 };
    expect(optimizerFromTensorMap(params, optimizerToTensorMap(params, s), 'x')).toEqual(s);
    expect(() => optimizerFromTensorMap([{ name: 'w', shape: [3, 2] }], optimizerToTensorMap(params, s), 'opt.safetensors')).toThrow(/optimizer state 'm.w' is missing or not F32\[3,2\]/);
  });

  it('warms the EMA decay up: d_n = min(d, (1 + n)/(10 + n))', () => {
    expect(emaDecayAt(0.999, 0)).toBeCloseTo(0.1, 12);
    expect(emaDecayAt(0.999, 90)).toBeCloseTo(0.91, 12);
    expect(emaDecayAt(0.5, 1000)).toBe(0.5);
  });

  it('keeps the tensor count flat over many steps and frees the engine at the end', async () => {
    const o = toyObjective(cfg({ steps: 60 }));
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    await TrainingRun.create<ToyTypes>(o, { train, onEvent: (e) => e.type === 'step' && counts.push(tf.memory().numTensors) }).run();
    expect(new Set(counts.slice(2)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    o.dispose();
  });

  it('stops after maxNonFinite non-finite steps in a row, applying none of them', async () => {
    const o = toyObjective(cfg({ steps: 10, maxNonFinite: 2 }));
    const start = o.values();
    const poisoned = async (ctx: Parameters<ReturnType<typeof o.defaultEngine>>[0]): Promise<TrainEngine<ToyTypes['batch'], ToyTypes['figures']>> => {
      const inner = await o.defaultEngine()(ctx);
      return { ...inner, name: 'poisoned', workers: 1, compute: async (b) => ({ ...(await inner.compute(b)), gradNorm: Infinity }), apply: (u) => inner.apply(u), state: () => inner.state(), dispose: () => inner.dispose() };
    };
    const err = await TrainingRun.create<ToyTypes>(o, { train, engine: poisoned }).run().catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_NON_FINITE')).toBe(true);
    expect(o.values()).toEqual(start);
    o.dispose();
  });

  it('leaves no files without an output directory', async () => {
    const o = toyObjective(cfg({ steps: 2 }));
    const s = await TrainingRun.create<ToyTypes>(o, { train }).run();
    expect(s.checkpoint).toBeUndefined();
    expect(existsSync('metrics.jsonl')).toBe(false);
    o.dispose();
  });
});
