import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmerModel, preset, saveFarmer } from '@farmer/ar-gmm';
import { attachStudent, Student } from '@farmer/flow';
import { randomize } from '@farmer/test-utils';

/** A fresh temporary directory. */
export const tmp = (): string => mkdtempSync(join(tmpdir(), 'farmer-runtime-'));

/**
 * A mnist-tiny checkpoint with random weights in `dir` (far from the
 * identity, so runtimes have something to disagree on), optionally with an
 * `ema` part (other weights) and a student attached to `studentOf`.
 */
export async function tinyCheckpoint(dir: string, options: { seed?: number; ema?: boolean; studentOf?: 'model' | 'ema' } = {}): Promise<string> {
  const seed = options.seed ?? 1;
  const random = (s: number): FarmerModel => {
    const m = FarmerModel.create(preset('mnist-tiny'), s);
    randomize(m.flow.params, s, { scale: 0.1, projOut: 0.05, stream: 'runtime-flow' });
    randomize(m.ar.params, s, { scale: 0.1, projOut: 0.02, stream: 'runtime-ar' });
    return m;
  };
  const model = random(seed);
  const ema = options.ema ? random(seed + 100) : undefined;
  await saveFarmer(dir, model, ema ? { tensors: { ema: ema.toTensorMap() } } : {});
  if (options.studentOf) {
    const teacher = options.studentOf === 'ema' ? ema! : model;
    const student = Student.fromTeacher(teacher.flow);
    await attachStudent(dir, student, { force: true });
    student.dispose();
  }
  model.dispose();
  ema?.dispose();
  return dir;
}
