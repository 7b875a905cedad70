// @farmer/distill benchmarks: AF reverse time of the KV-cached teacher vs the one-step
// student for mnist-small at batch 1 and 16, as ratios from the same run, plus the
// quality cost: mean pixel difference between teacher- and student-decoded images.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng, imageGrid, initBackend, loadDataset, Rng, tf } from '@farmer/core';
import { builtinClassifierDir, builtinModelDir } from '@farmer/models';
import { classifierAgreement, featureStats, frechetDistance, loadClassifier } from '@farmer/eval';
import { generate } from '@farmer/sampling';
import { Student } from '@farmer/flow';
import { loadRunnerWithStudent } from '@farmer/runtime';
import { fmt, table, timeIt } from './util.mjs';
import { benchModel } from './sampling.mjs';

export async function benchDistill() {
  await initBackend();
  const model = benchModel();
  const student = Student.fromTeacher(model.flow);
  const rows = [];
  for (const batch of [1, 16]) {
    const z = new Rng(1).normalTensor([batch, model.flow.numTokens, model.flow.tokenDim]);
    const teacher = await timeIt(async () => (await model.flow.reverse(z)).dispose(), { warmup: 1, reps: batch === 1 ? 5 : 3 });
    const one = await timeIt(() => tf.tidy(() => student.decode(z)).dispose(), { warmup: 1, reps: 5 });
    rows.push({ batch, 'teacher s/img': fmt(teacher / batch, 4), 'student s/img': fmt(one / batch, 4), 'speed-up': `${fmt(teacher / one, 1)}×` });
    z.dispose();
  }
  console.log(`\n## distill: AF reverse, mnist-small (${tf.getBackend()}): KV-cached teacher vs one-step student`);
  table(rows);
  console.log('(the student here is the teacher copy before distillation: timing only; quality figures come from a distilled checkpoint)');
  student.dispose();
  model.dispose();
}

// Quality cost of the distilled student of the built-in model (mnist-small, when
// it carries one): the same latents (same seed and sampler) decoded by the exact AF
// inverse and by the student. Writes a side-by-side PNG (rows alternate teacher, student).
export async function benchDistillQuality() {
  await initBackend();
  const root = builtinModelDir();
  const { runner } = await loadRunnerWithStudent(root);
  if (!runner.decoders.includes('student')) {
    console.log('\n## distill quality: the built-in model has no student (farmer distill --checkpoint models/mnist-small ...)');
    return runner.dispose();
  }
  const count = Number(process.env.FARMER_DISTILL_COUNT ?? 1000);
  const labels = Array.from({ length: count }, (_, i) => i % 10);
  const draw = async (decoder) => (await generate(runner, { count, labels, seed: 7, sampler: 'resampling-cfg', batchSize: 50, decoder })).images;
  const teacher = await draw('flow');
  const student = await draw('student');
  let absSum = 0;
  for (let i = 0; i < teacher.data.length; i++) absSum += Math.abs(teacher.data[i] - student.data[i]);
  const clf = await loadClassifier(builtinClassifierDir('classifier-mnist'));
  const train = await loadDataset('mnist');
  const ref = featureStats(await clf.extract(train.images));
  const ft = featureStats(await clf.extract(teacher));
  const fs = featureStats(await clf.extract(student));
  const agreeT = await classifierAgreement(clf, teacher, labels);
  const agreeS = await classifierAgreement(clf, student, labels);
  console.log(`\n## distill quality: built-in model, ${count} CFG samples, same latents decoded both ways`);
  table([
    { decoder: 'teacher (AF reverse)', 'FID vs train': fmt(frechetDistance(ref, ft), 2), 'classifier agreement %': fmt(agreeT.agreement * 100, 1) },
    { decoder: 'student (one step)', 'FID vs train': fmt(frechetDistance(ref, fs), 2), 'classifier agreement %': fmt(agreeS.agreement * 100, 1) },
  ]);
  console.log(`mean |pixel difference| teacher vs student: ${fmt(absSum / teacher.data.length, 2)} of 255; FID between the two sets: ${fmt(frechetDistance(ft, fs), 2)}`);
  // Side-by-side: 4 pairs of rows of 10 (teacher row, then the student row of the same latents).
  const px = teacher.height * teacher.width * teacher.channels;
  const rows = 4;
  const data = new Uint8Array(rows * 2 * 10 * px);
  for (let r = 0; r < rows; r++) {
    data.set(teacher.data.subarray(r * 10 * px, (r + 1) * 10 * px), 2 * r * 10 * px);
    data.set(student.data.subarray(r * 10 * px, (r + 1) * 10 * px), (2 * r + 1) * 10 * px);
  }
  const grid = imageGrid({ ...teacher, data, count: rows * 20 }, { columns: 10 });
  const out = process.env.FARMER_DISTILL_PNG ?? join(root, '..', 'teacher-vs-student.png');
  writeFileSync(out, encodePng(grid));
  console.log(`side-by-side PNG (rows: teacher, student, ...): ${out}`);
  await clf.dispose();
  runner.dispose();
}
