import { readCheckpoint, resolveCheckpointDir } from '@farmer/core';
import { farmerFromCheckpoint, TfRunner } from '@farmer/ar-gmm';
import { inferenceWeightsPart, studentFromCheckpoint, studentMetaOf, studentParts, type LoadStudentOptions, type Student } from '@farmer/flow';

/** Options of {@link loadRunnerWithStudent}: the student's options and which weights to load. */
export interface LoadRunnerWithStudentOptions extends LoadStudentOptions {
  /**
   * Which FARMER weights: the EMA ones when present (default), or the raw
   * ones (false). With a student, the default is the weights it was
   * distilled from.
   */
  ema?: boolean;
}

/** A tfjs runner and, when it decodes with one, the distilled student. */
export interface TfRunnerWithStudent {
  runner: TfRunner;
  student?: Student;
  /** Why a student in the checkpoint was left out (one line), when it was. */
  notice?: string;
}

/**
 * Opens a checkpoint (or a run directory holding `checkpoint/`) on tfjs
 * with its distilled student when it has one: the runner's FARMER weights
 * are then the student's teacher (`model` or `ema`, as recorded in
 * `meta.student`), and its decoders are ['flow', 'student']. Without a
 * student, or when `ema` asks for other weights than its teacher, the
 * decoders are ['flow'] (and `notice` says why the student was left out).
 * `runner.dispose()` frees the model and the student.
 */
export async function loadRunnerWithStudent(dir: string, options: LoadRunnerWithStudentOptions = {}): Promise<TfRunnerWithStudent> {
  const abs = resolveCheckpointDir(dir);
  const head = await readCheckpoint(abs, { parts: [] });
  const meta = studentMetaOf(head);
  const part = options.ema === false ? 'model' : inferenceWeightsPart(head);
  if (!meta || meta.teacher.part !== part) {
    const ck = await readCheckpoint(abs, { parts: [part] });
    const notice = meta ? `the distilled student is not used: it was distilled from the '${meta.teacher.part}' weights, these are '${part}'` : undefined;
    return { runner: new TfRunner(farmerFromCheckpoint(ck, part)), notice };
  }
  const ck = await readCheckpoint(abs, { parts: [...new Set([...studentParts(meta, options), part])] });
  const student = studentFromCheckpoint(ck, options);
  try {
    return { runner: new TfRunner(farmerFromCheckpoint(ck, part), student.decode, () => student.dispose()), student };
  } catch (e) {
    student.dispose();
    throw e;
  }
}
