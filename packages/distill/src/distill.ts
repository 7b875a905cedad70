import { FarmerError, readCheckpoint, resolveCheckpointDir, type ImageDataset } from '@farmer/core';
import { farmerFromCheckpoint, type FarmerModel } from '@farmer/ar-gmm';
import { holdsRun, runExists } from '@farmer/train';
import type { DistillConfigInput } from './distill-config.js';
import { Distiller, type DistillerOptions, type DistillSummary } from './distiller.js';

/** Options of {@link distill}: the teacher, the run directory, the config, data and callbacks. */
export interface DistillRunOptions extends Omit<DistillerOptions, 'teacher' | 'teacherSource' | 'config' | 'outDir'> {
  /** The teacher: a FARMER checkpoint or a run directory holding `checkpoint/` (required for a new run). */
  teacher?: string;
  /** Distil the teacher's EMA weights when it has them (default true: those are the weights that sample). */
  teacherEma?: boolean;
  /** Run directory: `checkpoint/` (teacher + student, atomic) and `metrics.jsonl`. */
  outDir: string;
  /** Continue the run in `outDir` (teacher, student and state from its checkpoint). */
  resume?: boolean;
  /** Settings of a new run, or overrides (e.g. `steps`) of a resumed one. */
  config?: DistillConfigInput | Partial<DistillConfigInput>;
  /** When the run completes, also add the student to the teacher's own checkpoint (atomically). */
  attach?: boolean;
}

/** What {@link distill} returns: the run's summary plus where it wrote. */
export interface DistillRunResult extends DistillSummary {
  /** The teacher checkpoint the student was added to (with `attach`). */
  attachedTo?: string;
}

/**
 * `farmer distill` as a library call: starts (or resumes) a distillation
 * run in `outDir`, runs it to the end, a time budget, an abort or a signal
 * (always leaving a checkpoint), and frees everything it loaded.
 */
export async function distill(o: DistillRunOptions): Promise<DistillRunResult> {
  const { teacher: _, teacherEma: __, outDir: ___, resume: ____, config: _____, attach: ______, ...common } = o;
  let d: Distiller;
  let teacherDir: string | undefined;
  // A teacher loaded here (new run) is freed here; a resumed Distiller owns its own.
  let loaded: FarmerModel | undefined;
  if (o.resume) {
    d = await Distiller.resume(o.outDir, { ...common, config: o.config as Partial<DistillConfigInput> | undefined });
    teacherDir = d.student.meta?.teacher.source;
  } else {
    // Refused here too (TrainingRun.create refuses it) so that no teacher is loaded for nothing.
    if (holdsRun(o.outDir) && !o.force) throw runExists(o.outDir);
    if (!o.teacher) throw new FarmerError('FARMER_E_BAD_INPUT', 'distill needs a teacher checkpoint', { field: 'teacher' });
    teacherDir = resolveCheckpointDir(o.teacher);
    const ck = await readCheckpoint(teacherDir, { parts: ['model', 'ema'] });
    const part = o.teacherEma !== false && ck.tensors.ema ? 'ema' : 'model';
    loaded = farmerFromCheckpoint(ck, part);
    try {
      d = Distiller.create({ ...common, teacher: loaded, teacherSource: { dir: teacherDir, part }, config: (o.config ?? {}) as DistillConfigInput, outDir: o.outDir });
    } catch (e) {
      loaded.dispose();
      throw e;
    }
  }
  try {
    const summary = await d.run();
    let attachedTo: string | undefined;
    if (o.attach && summary.stoppedBy === 'done') {
      if (!teacherDir) throw new FarmerError('FARMER_E_BAD_INPUT', 'this run does not record its teacher checkpoint; attach the student with attachStudent(dir, student)', { field: 'attach' });
      attachedTo = (await d.attachTo(teacherDir)).dir;
    }
    return { ...summary, attachedTo };
  } finally {
    d.dispose();
    loaded?.dispose();
  }
}
