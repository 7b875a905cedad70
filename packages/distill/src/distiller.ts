import { FarmerError, makeCheckpointConfig, type ImageDataset, type TensorMap } from '@farmer/core';
import {
  checkpointDirOf,
  FARMER_KIND,
  farmerFromCheckpoint,
  TrainLoop,
  type FarmerModel,
  type LoopEvent,
  type LoopState,
  type TrainObjective,
} from '@farmer/ar-gmm';
import { parseDistillConfig, type DistillConfig, type DistillConfigInput } from './distill-config.js';
import { distillLossAndGrads, prepareDistillBatch, type DistillBatch, type DistillStep } from './distill-loss.js';
import { evaluateStudent, type StudentEvalResult } from './evaluate-student.js';
import { flowFingerprint, parseStudentMeta, STUDENT_FORMAT, STUDENT_FORMAT_VERSION, STUDENT_PARTS, type StudentMeta } from './student-meta.js';
import { attachStudent } from './student-store.js';
import { Student } from './student.js';

/** Marks a distillation run's `training` state (a FARMER training run has none). */
export const DISTILL_OBJECTIVE = 'distill';

/** One line of a distillation run's metrics.jsonl (and the `onEvent` payload). */
export type DistillEvent =
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      /** Mean of the per-block MSEs. */
      loss: number;
      /** MSE of each student block's output against the teacher's latent, by block (`[0]`: patch tokens). */
      blockMse: number[];
      lr: number;
      gradNorm: number;
      imagesPerSec: number;
      elapsedSeconds: number;
      etaSeconds: number;
      workers: number;
    }
  | ({ type: 'eval'; step: number; weights: 'ema' | 'live' } & StudentEvalResult)
  | LoopEvent;

export interface DistillerOptions {
  /** The teacher (frozen: its weights never change). The caller owns it, except after `resume`. */
  teacher: FarmerModel;
  /** Where the teacher came from, e.g. its checkpoint directory (recorded in `meta.student`). */
  teacherSource?: { dir: string; part: 'model' | 'ema' };
  config: DistillConfigInput | DistillConfig;
  train: ImageDataset;
  /** Held-out images for the periodic reconstruction error. */
  test?: ImageDataset;
  /** Run directory: `checkpoint/` (atomic) and `metrics.jsonl`. No files without it. */
  outDir?: string;
  onEvent?: (e: DistillEvent) => void;
  /** Abort: stop after the current step and write a checkpoint. */
  signal?: AbortSignal;
  /** Stop cleanly (with a checkpoint) on SIGINT/SIGTERM. */
  handleSignals?: boolean;
  /** Provenance stored in the checkpoint's `meta` (command line, dataset spec, ...). */
  meta?: Record<string, unknown>;
}

export interface DistillSummary {
  steps: number;
  stoppedBy: 'done' | 'signal' | 'time-budget';
  finalLoss: number;
  lastEval?: StudentEvalResult;
  checkpoint?: string;
  elapsedSeconds: number;
}

type DistillState = LoopState<DistillConfig> & { objective: typeof DISTILL_OBJECTIVE; lastEval?: StudentEvalResult & { step: number } };

/**
 * One-step distillation of the AF inverse (method doc §6, supplement
 * Algorithm 2) on the shared training loop of @farmer/ar-gmm: AdamW with
 * cosine LR, clipping, optional EMA, non-finite guard, atomic checkpoints
 * with exact resume, JSONL metrics, SIGINT/SIGTERM handling.
 *
 * The run's checkpoint is a complete FARMER checkpoint (kind 'farmer'): the
 * teacher's weights as `model.safetensors`, the student as
 * `student.safetensors` (+ `student-ema`, `student-optimizer`), the
 * student's config in `meta.student` and the run state in `training`. It
 * can be sampled from directly (`loadRunnerWithStudent`).
 */
export class Distiller {
  readonly config: DistillConfig;
  readonly teacher: FarmerModel;
  readonly student: Student;
  private readonly loop: TrainLoop<DistillConfig, DistillBatch, DistillStep, DistillEvent>;
  private readonly teacherWeights: TensorMap;
  private readonly teacherFingerprint: string;
  private lastEval?: StudentEvalResult & { step: number };

  private constructor(
    private readonly opts: DistillerOptions,
    student: Student | undefined,
    private readonly ownsTeacher: boolean,
  ) {
    this.config = parseDistillConfig(opts.config);
    this.teacher = opts.teacher;
    const f = this.teacher.config.flow;
    checkDataset(f, opts.train, 'training');
    if (opts.test) checkDataset(f, opts.test, 'test');
    // The teacher is frozen: encode its weights (and their fingerprint) once for every checkpoint.
    this.teacherWeights = this.teacher.toTensorMap();
    this.teacherFingerprint = flowFingerprint(this.teacherWeights);
    this.student = student ?? Student.fromTeacher(this.teacher.flow, { init: this.config.init, meta: this.studentMeta(0) });
    const teacherFlow = this.teacher.flow;
    const s = this.student;
    const dims = { numTokens: s.numTokens, tokenDim: s.tokenDim };
    const objective: TrainObjective<DistillBatch, DistillStep, DistillEvent> = {
      variables: s.variables(),
      variableNames: s.variableNames(),
      parts: { optimizer: STUDENT_PARTS.optimizer, ema: STUDENT_PARTS.ema },
      prepare: (batch, rng) => prepareDistillBatch(batch, this.config, rng, dims),
      startEngine: () => ({ workers: 1, compute: async (b) => distillLossAndGrads(teacherFlow, s, b), dispose: () => undefined }),
      stepEvent: (info, batch, r) => ({
        type: 'step',
        step: info.step,
        totalSteps: info.totalSteps,
        loss: r.loss,
        blockMse: r.blockMse,
        lr: info.lr,
        gradNorm: info.gradNorm,
        imagesPerSec: batch.shape[0] / info.seconds,
        elapsedSeconds: info.elapsedSeconds,
        etaSeconds: info.etaSeconds,
        workers: info.workers,
      }),
      evaluate: opts.test ? () => this.evaluate() : undefined,
      weightsToTensorMap: () => s.toTensorMap(),
      loadWeights: (map, file) => s.loadTensorMap(map, file),
      stateExtras: () => ({ objective: DISTILL_OBJECTIVE, lastEval: this.lastEval }),
      checkpointData: ({ state, weights, optimizer, ema }) => ({
        config: makeCheckpointConfig(FARMER_KIND, this.teacher.config as unknown as Record<string, unknown>, {
          training: state,
          meta: { ...opts.meta, student: this.studentMeta(this.loop.currentStep) },
        }),
        tensors: {
          model: this.teacherWeights,
          [STUDENT_PARTS.weights]: weights,
          [STUDENT_PARTS.optimizer]: optimizer,
          ...(ema ? { [STUDENT_PARTS.ema]: ema } : {}),
        },
      }),
    };
    this.loop = new TrainLoop<DistillConfig, DistillBatch, DistillStep, DistillEvent>(objective, {
      config: this.config,
      train: opts.train,
      outDir: opts.outDir,
      onEvent: opts.onEvent,
      signal: opts.signal,
      handleSignals: opts.handleSignals,
    });
  }

  /** The `meta.student` entry of this run's checkpoint: the teacher is its `model` part. */
  private studentMeta(step: number): StudentMeta {
    const src = this.opts.teacherSource;
    return {
      format: STUDENT_FORMAT,
      version: STUDENT_FORMAT_VERSION,
      flow: this.teacher.config.flow,
      prefix: 'student.',
      teacher: { part: 'model', flowFingerprint: this.teacherFingerprint, ...(src ? { source: src.dir, sourcePart: src.part } : {}) },
      distill: { step, config: this.config },
    };
  }

  /** A new run: the student starts as a copy of the teacher's AF blocks. */
  static create(opts: DistillerOptions): Distiller {
    return new Distiller(opts, undefined, false);
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
    const dir = checkpointDirOf(outDir);
    const ck = await TrainLoop.readRun(outDir);
    const objective = (ck.config.training as { objective?: unknown } | undefined)?.objective;
    if (ck.config.kind !== FARMER_KIND || objective !== DISTILL_OBJECTIVE) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `${dir} is not a distillation run (it holds a '${ck.config.kind}' ${objective ? `'${String(objective)}' ` : ''}checkpoint); start a new run without resume`, { file: dir });
    }
    const state = TrainLoop.stateOf(ck, STUDENT_PARTS.optimizer, dir) as unknown as DistillState;
    const meta = parseStudentMeta(ck.config.meta?.student, `${dir}/config.json meta.student`);
    const teacher = farmerFromCheckpoint(ck, 'model');
    let student: Student | undefined;
    try {
      if (flowFingerprint(ck.tensors.model) !== meta.teacher.flowFingerprint) {
        throw new FarmerError('FARMER_E_CORRUPT', `${dir}/model.safetensors no longer holds the teacher this run distils (its AF fingerprint changed)`, { file: `${dir}/model.safetensors` });
      }
      const part = STUDENT_PARTS.weights;
      if (!ck.tensors[part]) throw new FarmerError('FARMER_E_CORRUPT', `${dir} has no ${part}.safetensors`, { file: dir });
      student = Student.fromTensorMap(teacher.config.flow, ck.tensors[part], `${dir}/${part}.safetensors`, meta);
      const src = meta.teacher;
      const d = new Distiller(
        { ...opts, teacher, outDir, teacherSource: src.source ? { dir: src.source, part: src.sourcePart ?? 'model' } : undefined, config: { ...state.trainConfig, ...opts.config } },
        student,
        true,
      );
      await d.loop.restore(ck, state, dir);
      d.lastEval = state.lastEval;
      return d;
    } catch (e) {
      student?.dispose();
      teacher.dispose();
      throw e;
    }
  }

  get currentStep(): number {
    return this.loop.currentStep;
  }

  /** Writes the run's checkpoint atomically (no-op without outDir). */
  async checkpoint(): Promise<string | undefined> {
    return this.loop.checkpoint();
  }

  /** Held-out reconstruction error of the student (EMA weights when EMA is on), as an 'eval' event. */
  async evaluate(maxImages = this.config.evalImages): Promise<StudentEvalResult | undefined> {
    const test = this.opts.test;
    if (!test) return undefined;
    const r = await this.loop.withEvalWeights(() =>
      evaluateStudent(this.teacher.flow, this.student, test, { maxImages, seed: this.config.seed, dataNoise: this.config.dataNoise, signal: this.opts.signal }),
    );
    this.lastEval = { ...r, step: this.loop.currentStep };
    this.loop.emit({ type: 'eval', step: this.loop.currentStep, weights: this.loop.ema ? 'ema' : 'live', ...r });
    return r;
  }

  /** Runs until `steps`, the time budget, an abort or a signal; always ends with a checkpoint. */
  async run(): Promise<DistillSummary> {
    const s = await this.loop.run();
    return { steps: s.steps, stoppedBy: s.stoppedBy, finalLoss: s.finalLoss, lastEval: this.lastEval, checkpoint: s.checkpoint, elapsedSeconds: s.elapsedSeconds };
  }

  /**
   * Adds (or replaces) the student in the teacher's checkpoint `dir`,
   * atomically; the EMA weights when EMA is on. Refuses a checkpoint whose
   * AF is not this run's teacher.
   */
  async attachTo(dir: string): Promise<{ dir: string; teacherPart: 'model' | 'ema' }> {
    return this.loop.withEvalWeights(() => attachStudent(dir, this.student, { meta: this.studentMeta(this.loop.currentStep) }));
  }

  /** Frees the student, the optimizer and EMA state, and the teacher when `resume` loaded it. */
  dispose(): void {
    this.loop.dispose();
    this.student.dispose();
    if (this.ownsTeacher) this.teacher.dispose();
  }
}

function checkDataset(f: FarmerModel['config']['flow'], ds: ImageDataset, what: string): void {
  const im = ds.images;
  if (im.channels !== f.inChannels || im.height !== f.imageSize || im.width !== f.imageSize) {
    throw new FarmerError(
      'FARMER_E_BAD_INPUT',
      `the ${what} data (${ds.name}) are ${im.height}×${im.width}×${im.channels} but the teacher takes ${f.imageSize}×${f.imageSize}×${f.inChannels}; distil on the data the teacher was trained on`,
      { field: 'data' },
    );
  }
}
