import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, isFarmerError, loadDataset, patchify, readCheckpoint, tf, u8ToFloatNCHW, writeCheckpoint, type ImageDataset, type TensorMap } from '@farmer/core';
import { FarmerModel, loadTfRunner, preset, saveFarmer, TfRunner, Trainer } from '@farmer/ar-gmm';
import { generate } from '@farmer/sampling';
import { beforeAll, describe, expect, it } from 'vitest';
import { attachStudent, distill, Distiller, loadStudent, STUDENT_PARTS, type DistillEvent } from '../src/index.js';
import { maxAbsDiff } from '@farmer/test-utils';
import { mse, subset } from './helpers.js';

let train: ImageDataset;
let test: ImageDataset;
let teacher: FarmerModel;
let teacherDir: string;
const tmp = () => mkdtempSync(join(tmpdir(), 'farmer-distill-'));
const losses = (events: DistillEvent[]) => events.filter((e) => e.type === 'step').map((e) => (e as { loss: number }).loss);

/** Held-out latents: the teacher's Z^n of 64 test images, and the teacher's exact inverse of them. */
async function heldOut(model: FarmerModel): Promise<{ z: tf.Tensor3D; exact: Float32Array }> {
  const im = subset(test, 64, 500).images;
  const z = tf.tidy(() => model.flow.forward(patchify(tf.tensor4d(u8ToFloatNCHW(im), [im.count, 1, 28, 28]), 4)).z);
  const x = await model.flow.reverse(z);
  const exact = (await x.data()) as Float32Array;
  x.dispose();
  return { z, exact };
}

function studentError(decode: (z: tf.Tensor3D) => tf.Tensor3D, z: tf.Tensor3D, exact: Float32Array): number {
  const x = tf.tidy(() => decode(z));
  const e = mse(x.dataSync(), exact);
  x.dispose();
  return e;
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  train = await loadDataset('mnist');
  test = await loadDataset('mnist', { split: 'test' });
  // The teacher: mnist-tiny trained for 60 steps, far enough from the identity to need inverting.
  teacher = FarmerModel.create(preset('mnist-tiny'), 1);
  const t = Trainer.create({ model: teacher, train, config: { steps: 60, batchSize: 16, lr: 3e-3, warmupSteps: 5, evalEvery: 0, checkpointEvery: 0, ema: null } });
  await t.run();
  t.dispose();
  teacherDir = join(tmp(), 'teacher');
  await saveFarmer(teacherDir, teacher, { training: { step: 60, note: 'kept by attachStudent' } });
});

describe('distillation of a trained mnist-tiny teacher', () => {
  it('lowers the student’s error against the teacher’s exact inverse on held-out latents', async () => {
    const { z, exact } = await heldOut(teacher);
    const identityError = mse(z.dataSync(), exact); // the do-nothing decoder x = z
    const events: DistillEvent[] = [];
    const d = Distiller.create({
      teacher,
      train,
      test: subset(test, 128),
      config: { steps: 100, batchSize: 16, lr: 1e-3, warmupSteps: 5, evalEvery: 50, evalImages: 128, checkpointEvery: 0 },
      onEvent: (e) => events.push(e),
    });
    const before = studentError(d.student.decode, z, exact);
    const summary = await d.run();
    const after = studentError(d.student.decode, z, exact);
    const evals = events.filter((e) => e.type === 'eval');
    console.log(
      `student MSE vs teacher inverse on 64 held-out latents: ${before.toExponential(3)} at init → ${after.toExponential(4)} after 100 steps ` +
        `(ratio ${(after / before).toExponential(2)}; identity decoder ${identityError.toFixed(4)}, ratio ${(after / identityError).toFixed(4)}); ` +
        `eval MSE ${evals.map((e) => (e as { mse: number }).mse.toFixed(4)).join(' → ')}; ${summary.elapsedSeconds.toFixed(1)} s`,
    );
    expect(after / before).toBeLessThan(0.5);
    // Not only better than the (wild) copied initialisation: far better than not inverting at all.
    expect(after / identityError).toBeLessThan(0.1);
    expect(evals.map((e) => e.step)).toEqual([50, 100]);
    expect(summary.lastEval!.mse).toBeLessThan(identityError * 0.1);
    const step = events.find((e) => e.type === 'step')!;
    for (const key of ['loss', 'blockMse', 'lr', 'gradNorm', 'imagesPerSec', 'etaSeconds']) expect(step).toHaveProperty(key);
    expect((step as { blockMse: number[] }).blockMse).toHaveLength(2);
    d.dispose();
    z.dispose();
  }, 300_000); // tfjs-wasm training: ~45 s alone, several minutes on a loaded 2-core machine

  it('resumes the same run: losses after a resume equal the uninterrupted run (with EMA)', async () => {
    const small = subset(train, 120);
    const config = { steps: 12, batchSize: 8, lr: 1e-3, warmupSteps: 3, evalEvery: 0, checkpointEvery: 0, ema: 0.9, init: 'teacher-identity' as const };
    const full: DistillEvent[] = [];
    const counts: number[] = [];
    const d1 = Distiller.create({ teacher, train: small, config, onEvent: (e) => (full.push(e), e.type === 'step' && counts.push(tf.memory().numTensors)) });
    await d1.run();
    const fullWeights = d1.student.toTensorMap();
    expect(new Set(counts.slice(1)).size).toBe(1); // no tensor leaks per step

    const dir = tmp();
    const first: DistillEvent[] = [];
    const ac = new AbortController();
    const d2 = Distiller.create({
      teacher,
      train: small,
      config,
      outDir: dir,
      signal: ac.signal,
      onEvent: (e) => {
        first.push(e);
        if (e.type === 'step' && e.step === 5) ac.abort();
      },
    });
    const s2 = await d2.run();
    expect(s2).toMatchObject({ stoppedBy: 'signal', steps: 5 });
    const rest: DistillEvent[] = [];
    const d3 = await Distiller.resume(dir, { train: small, onEvent: (e) => rest.push(e) });
    expect(d3.currentStep).toBe(5);
    await d3.run();
    expect([...losses(first), ...losses(rest)]).toEqual(losses(full));
    const resumedWeights = d3.student.toTensorMap();
    for (const name of Object.keys(fullWeights)) expect(maxAbsDiff(resumedWeights[name].data as Float32Array, fullWeights[name].data as Float32Array)).toBe(0);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'step').map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const ck = await readCheckpoint(join(dir, 'checkpoint'), { parts: [] });
    expect(ck.parts.sort()).toEqual(['model', 'student', 'student-ema', 'student-optimizer']);
    expect(ck.config.training).toMatchObject({ objective: 'distill', step: 12 });
    [d1, d2, d3].forEach((d) => d.dispose());
  });

  it('stores the student with the checkpoint, loads it, and validates it on load', async () => {
    const out = tmp();
    const r = await distill({ teacher: teacherDir, outDir: out, train: subset(train, 64), config: { steps: 3, batchSize: 8, checkpointEvery: 0 }, attach: true });
    expect(r).toMatchObject({ stoppedBy: 'done', steps: 3, attachedTo: teacherDir });
    const run = join(out, 'checkpoint');

    // The run's checkpoint: teacher as model, student under student.blocks.*, config in meta.student.
    const ck = await readCheckpoint(run);
    expect(Object.keys(ck.tensors.student).every((k) => k.startsWith('student.blocks.'))).toBe(true);
    expect(ck.config.meta?.student).toMatchObject({ format: 'farmer-student', prefix: 'student.', teacher: { part: 'model', source: teacherDir } });
    const student = await loadStudent(out);
    // attachStudent added the same weights to the teacher's checkpoint and kept its training state.
    const attached = await readCheckpoint(teacherDir);
    expect(attached.config.training).toMatchObject({ step: 60, note: 'kept by attachStudent' });
    expect(attached.config.meta?.student).toMatchObject({ teacher: { part: 'model' }, distill: { step: 3 } });
    const fromTeacherDir = await loadStudent(teacherDir);
    const { z, exact } = await heldOut(teacher);
    expect(studentError(fromTeacherDir.decode, z, exact)).toBe(studentError(student.decode, z, exact));

    // A tensor of the wrong shape: a clear error naming the file and the tensor.
    const bad = tmp();
    const name = 'student.blocks.1.proj_out.weight';
    const badStudent: TensorMap = { ...ck.tensors.student, [name]: { dtype: 'F32', shape: [3, 32], data: new Float32Array(96) } };
    await writeCheckpoint(bad, { config: ck.config, tensors: { ...ck.tensors, model: ck.tensors.model, student: badStudent } });
    const shapeErr = await loadStudent(bad).catch((e) => e);
    expect(isFarmerError(shapeErr, 'FARMER_E_SHAPE')).toBe(true);
    expect(shapeErr.message).toContain(`${bad}/student.safetensors: tensor '${name.slice('student.'.length)}' has shape [3,32]`);

    // A teacher changed after distillation: refused, since the student inverts another AF.
    const changed = tmp();
    const other = FarmerModel.create(preset('mnist-tiny'), 99);
    await writeCheckpoint(changed, { config: ck.config, tensors: { ...ck.tensors, model: other.toTensorMap() } });
    const teacherErr = await loadStudent(changed).catch((e) => e);
    expect(isFarmerError(teacherErr, 'FARMER_E_BAD_INPUT')).toBe(true);
    expect(teacherErr.message).toMatch(/distilled from other AF weights than model\.safetensors/);
    await expect(attachStudent(changed, student)).rejects.toThrow(/does not hold the AF this student was distilled from/);
    other.dispose();

    // No student at all, and an invalid meta.student.
    const plain = tmp();
    await saveFarmer(plain, teacher);
    await expect(loadStudent(plain)).rejects.toThrow(/holds no distilled student; run `farmer distill`/);
    const badMeta = tmp();
    await writeCheckpoint(badMeta, { config: { ...ck.config, meta: { student: { ...(ck.config.meta!.student as object), prefix: 'x.' } } }, tensors: { ...ck.tensors, model: ck.tensors.model } });
    const metaErr = await loadStudent(badMeta).catch((e) => e);
    expect(isFarmerError(metaErr, 'FARMER_E_CORRUPT')).toBe(true);
    expect(metaErr.message).toMatch(/meta\.student is invalid: prefix/);

    // distill() refuses to overwrite a run, and resumes a finished one without doing anything.
    await expect(distill({ teacher: teacherDir, outDir: out, train, config: { steps: 3 } })).rejects.toThrow(/already holds a run; resume it/);
    expect(await distill({ outDir: out, resume: true, train })).toMatchObject({ steps: 3, stoppedBy: 'done' });
    expect(existsSync(join(run, `${STUDENT_PARTS.optimizer}.safetensors`))).toBe(true);
    [student, fromTeacherDir].forEach((s) => s.dispose());
    z.dispose();
  });

  it('decodes through TfRunner, and generate() draws images with the student decoder', async () => {
    const out = tmp();
    await distill({ teacher: teacherDir, outDir: out, train, config: { steps: 100, batchSize: 16, lr: 1e-3, warmupSteps: 5, checkpointEvery: 0 } });
    // loadTfRunner with the student passed in (@farmer/runtime's loadRunnerWithStudent does both; tested there).
    const student = await loadStudent(out);
    const runner = await loadTfRunner(out, { student: student.decode });
    expect(runner.decoders).toEqual(['flow', 'jacobi', 'student']);
    const opts = { count: 16, seed: 3, labels: Array.from({ length: 16 }, (_, i) => i % 10), batchSize: 16 };
    const byFlow = await generate(runner, { ...opts, decoder: 'flow' });
    const byStudent = await generate(runner, { ...opts, decoder: 'student' });
    expect(byStudent.images.count).toBe(16);
    expect(byStudent.parameters.decoder).toBe('student');
    let diff = 0;
    for (let i = 0; i < byFlow.images.data.length; i++) diff += Math.abs(byFlow.images.data[i] - byStudent.images.data[i]);
    diff /= byFlow.images.data.length;
    console.log(`16 samples, same latents: mean |flow − student| pixel error ${diff.toFixed(2)} / 255; AF decode ${byFlow.timings.afSeconds.toFixed(3)} s (flow) vs ${byStudent.timings.afSeconds.toFixed(3)} s (student)`);
    expect(diff).toBeLessThan(40);
    // A runner without a student refuses the student decoder, naming the fix.
    const plain = new TfRunner(runner.model);
    await expect(generate(plain, { ...opts, decoder: 'student' })).rejects.toThrow(/'student' is not available for this model \(available: flow, jacobi\)/);
    student.dispose();
    runner.model.dispose();
  });
});
