import { FarmerError, makeCheckpointConfig, ParamStore, type ImageDataset, type TensorMap } from '@farmer/core';
import { farmerFromCheckpoint, FARMER_KIND, type FarmerModel } from '@farmer/ar-gmm';
import { ObjectiveRun, tfEngine, TrainingRun, type EngineFactory, type Objective, type ObjectiveTypes, type RunEvent, type RunOptions, type RunSummary } from '@farmer/train';
import { parseDistillConfig, type DistillConfig, type DistillConfigInput } from './distill-config.js';
import { distillLossAndGrads, prepareDistillBatch, type DistillBatch } from './distill-loss.js';
import { evaluateStudent, type StudentEvalResult } from './evaluate-student.js';
import { attachStudent, flowFingerprint, parseStudentMeta, Student, STUDENT_FORMAT, STUDENT_FORMAT_VERSION, STUDENT_PARTS, STUDENT_PREFIX, type StudentMeta } from '@farmer/flow';

/** Marks a distillation run's `training` state. */
export const DISTILL_OBJECTIVE = 'distill';

/** The types of the distillation objective. */
export interface DistillTypes extends ObjectiveTypes {
  config: DistillConfig;
  batch: DistillBatch;
  figures: { blockMse: number[] };
  step: { blockMse: number[] };
  eval: StudentEvalResult;
}

/** One line of a distillation run's metrics.jsonl (and the `onEvent` payload); a step's `loss` is the mean of the per-block MSEs, `blockMse[t]` the MSE of student block t's output against the teacher's latent (`[0]`: patch tokens). */
export type DistillEvent = RunEvent<DistillTypes>;

/** How a Distiller computes: given the frozen teacher and the student, an engine factory (tfjs by default; @farmer/onnx adds onnxruntime). */
export type DistillEngine = (teacher: FarmerModel, student: Student) => EngineFactory<DistillBatch, DistillTypes['figures']>;

/** Options of {@link Distiller}: the frozen teacher, the student, the config, the engine and the run options of @farmer/train. */
export interface DistillerOptions extends RunOptions<DistillTypes> {
  /** The teacher (frozen: its weights never change). The caller owns it, except after `resume`. */
  teacher: FarmerModel;
  /** Where the teacher came from, e.g. its checkpoint directory (recorded in `meta.student`). */
  teacherSource?: { dir: string; part: 'model' | 'ema' };
  config: DistillConfigInput | DistillConfig;
  /** How gradients are computed (default: tfjs on this thread). */
  engine?: DistillEngine;
}

/** How a distillation run ended: steps, why it stopped, final loss and the last student evaluation. */
export type DistillSummary = RunSummary<StudentEvalResult>;

/**
 * One-step distillation of the AF inverse (the paper's Algorithm 2,
 * docs/method.md §8.2 distillation step) as an objective on a TrainingRun of @farmer/train: AdamW with
 * cosine LR, clipping, optional EMA, non-finite guard, atomic checkpoints
 * with exact resume, JSONL metrics, SIGINT/SIGTERM handling.
 *
 * The run's checkpoint is a complete FARMER checkpoint (kind 'farmer'): the
 * teacher's weights as `model.safetensors`, the student as
 * `student.safetensors` (+ `student-ema`, `student-optimizer`), the
 * student's config in `meta.student` and the run state in `training`. It
 * can be sampled from directly (`loadRunnerWithStudent` of @farmer/runtime).
 */
export class Distiller extends ObjectiveRun<DistillTypes> {
  private constructor(
    readonly teacher: FarmerModel,
    readonly student: Student,
    runner: TrainingRun<DistillTypes>,
    private readonly studentMeta: (step: number) => StudentMeta,
    private readonly ownsTeacher: boolean,
  ) {
    super(runner);
  }

  /** A new run: the student starts as a copy of the teacher's AF blocks. */
  static create(opts: DistillerOptions): Distiller {
    const config = parseDistillConfig(opts.config);
    const teacherWeights = opts.teacher.toTensorMap();
    const meta = studentMetaFor(opts.teacher, flowFingerprint(teacherWeights), config, opts.teacherSource);
    const student = Student.fromTeacher(opts.teacher.flow, { init: config.init, meta: meta(0) });
    try {
      const run = TrainingRun.create(distillObjective(opts.teacher, teacherWeights, student, config, meta, opts.meta), { ...opts, engine: opts.engine?.(opts.teacher, student) });
      return new Distiller(opts.teacher, student, run, meta, false);
    } catch (e) {
      student.dispose();
      throw e;
    }
  }

  /**
   * Resumes the distillation run in `outDir`: teacher, student, optimizer,
   * EMA, step, data order and RNG come from its checkpoint; `config` may
   * override fields such as `steps`. The Distiller then owns the teacher.
   */
  static async resume(
    outDir: string,
    opts: Omit<DistillerOptions, 'teacher' | 'teacherSource' | 'config' | 'outDir'> & { config?: Partial<DistillConfigInput> },
  ): Promise<Distiller> {
    let teacher: FarmerModel | undefined;
    let student: Student | undefined;
    let meta: ((step: number) => StudentMeta) | undefined;
    try {
      const run = await TrainingRun.resume<DistillTypes>(
        outDir,
        (ck, state) => {
          if (ck.config.kind !== FARMER_KIND || state.objective !== DISTILL_OBJECTIVE) {
            throw new FarmerError(
              'FARMER_E_BAD_INPUT',
              `${ck.dir} is not a distillation run (it holds a '${ck.config.kind}' ${state.objective ? `'${String(state.objective)}' ` : ''}checkpoint); start a new run without resume`,
              { file: ck.dir },
            );
          }
          const stored = parseStudentMeta(ck.config.meta?.student, `${ck.dir}/config.json meta.student`);
          teacher = farmerFromCheckpoint(ck, 'model');
          if (flowFingerprint(ck.tensors.model) !== stored.teacher.flowFingerprint) {
            throw new FarmerError('FARMER_E_CORRUPT', `${ck.dir}/model.safetensors no longer holds the teacher this run distils (its AF fingerprint changed)`, { file: `${ck.dir}/model.safetensors` });
          }
          const part = STUDENT_PARTS.weights;
          if (!ck.tensors[part]) throw new FarmerError('FARMER_E_CORRUPT', `${ck.dir} has no ${part}.safetensors`, { file: ck.dir });
          student = Student.fromTensorMap(teacher.config.flow, ck.tensors[part], `${ck.dir}/${part}.safetensors`, stored);
          const config = parseDistillConfig({ ...state.trainConfig, ...opts.config });
          const src = stored.teacher;
          meta = studentMetaFor(teacher, stored.teacher.flowFingerprint, config, src.source ? { dir: src.source, part: src.sourcePart ?? 'model' } : undefined);
          return distillObjective(teacher, ck.tensors.model, student, config, meta, opts.meta);
        },
        // Teacher and student exist only once the checkpoint is read; the engine is started later, by run().
        { ...opts, engine: opts.engine && ((ctx) => opts.engine!(teacher!, student!)(ctx)) },
      );
      return new Distiller(teacher!, student!, run, meta!, true);
    } catch (e) {
      student?.dispose();
      teacher?.dispose();
      throw e;
    }
  }

  /**
   * Adds (or replaces) the student in the teacher's checkpoint `dir`,
   * atomically; the EMA weights when EMA is on. Refuses a checkpoint whose
   * AF is not this run's teacher.
   */
  async attachTo(dir: string): Promise<{ dir: string; teacherPart: 'model' | 'ema' }> {
    return this.runner.withEvalWeights(() => attachStudent(dir, this.student, { meta: this.studentMeta(this.runner.currentStep) }));
  }

  /** Frees the student, and the teacher when `resume` loaded it. */
  dispose(): void {
    this.student.dispose();
    if (this.ownsTeacher) this.teacher.dispose();
  }
}

/** The `meta.student` entry of a run's checkpoint at a step: the teacher is its `model` part. */
function studentMetaFor(teacher: FarmerModel, fingerprint: string, config: DistillConfig, src?: { dir: string; part: 'model' | 'ema' }): (step: number) => StudentMeta {
  return (step) => ({
    format: STUDENT_FORMAT,
    version: STUDENT_FORMAT_VERSION,
    flow: teacher.config.flow,
    prefix: 'student.',
    teacher: { part: 'model', flowFingerprint: fingerprint, ...(src ? { source: src.dir, sourcePart: src.part } : {}) },
    distill: { step, config },
  });
}

/**
 * Algorithm 2 as a training objective: the student's weights, the teacher's
 * latents as targets, held-out reconstruction error as its evaluation, and
 * a checkpoint that carries the frozen teacher (`weights` encoded once).
 */
function distillObjective(
  teacher: FarmerModel,
  teacherWeights: TensorMap,
  student: Student,
  config: DistillConfig,
  studentMeta: (step: number) => StudentMeta,
  meta?: Record<string, unknown>,
): Objective<DistillTypes> {
  const f = teacher.config.flow;
  const store = student.params;
  const vars = student.variables();
  const dims = { numTokens: student.numTokens, tokenDim: student.tokenDim };
  return {
    id: DISTILL_OBJECTIVE,
    config,
    params: student.variableNames().map((name, i) => ({ name, shape: vars[i].shape })),
    parts: { weights: STUDENT_PARTS.weights, optimizer: STUDENT_PARTS.optimizer, ema: STUDENT_PARTS.ema },
    dataFit: { channels: f.inChannels, size: f.imageSize, numClasses: 0, subject: 'teacher', hint: 'distil on the data the teacher was trained on' },
    prepare: (batch, rng) => prepareDistillBatch(batch, config, rng, dims),
    batchSize: (b) => b.shape[0],
    stepFields: (_, figures) => ({ blockMse: figures.blockMse }),
    values: () => store.values(),
    load: (values) => store.setValues(values),
    toTensorMap: (values) => ParamStore.hostTensorMap(store.shapes, values, STUDENT_PREFIX),
    fromTensorMap: (map, file) => ParamStore.hostValues(store.shapes, map, file, STUDENT_PREFIX),
    evaluate: (test, o) => evaluateStudent(teacher.flow, student, test, { maxImages: o.maxImages, seed: o.seed, dataNoise: config.dataNoise, signal: o.signal }),
    checkpoint: (training, step) => ({
      config: makeCheckpointConfig(FARMER_KIND, teacher.config as unknown as Record<string, unknown>, { training, meta: { ...meta, student: studentMeta(step) } }),
      tensors: { model: teacherWeights },
    }),
    defaultEngine: () => distillTfEngine()(teacher, student),
  };
}

/** Distillation on tfjs, on this thread: tfjs autodiff of the student chain against the frozen teacher's latents. */
export function distillTfEngine(): DistillEngine {
  return (teacher, student) =>
    tfEngine({
      variables: student.variables(),
      lossAndGrads: (b) => {
        const r = distillLossAndGrads(teacher.flow, student, b);
        return { loss: r.loss, figures: { blockMse: r.blockMse }, grads: r.grads };
      },
    });
}
