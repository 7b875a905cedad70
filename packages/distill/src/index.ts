/**
 * @farmer/distill: one-step distillation of the AF inverse
 * (docs/method.md §8 distillation, the paper's Algorithm 2): the trainer of
 * the student. The student itself (a copy of the teacher's AF blocks with
 * bidirectional attention and unshifted outputs, which decodes latents in n
 * parallel passes instead of n·(N−1) sequential ones), its metadata and its
 * checkpoint parts live in @farmer/flow, re-exported here unchanged.
 */
export {
  attachStudent,
  flowFingerprint,
  loadStudent,
  parseStudentMeta,
  Student,
  studentBlock,
  studentFromCheckpoint,
  studentMetaOf,
  STUDENT_FORMAT,
  STUDENT_FORMAT_VERSION,
  STUDENT_PARTS,
  STUDENT_PREFIX,
  StudentMetaSchema,
  type LoadStudentOptions,
  type StudentMeta,
} from '@farmer/flow';
export { DistillConfigSchema, parseDistillConfig, type DistillConfig, type DistillConfigInput } from './distill-config.js';
export { distillLoss, distillLossAndGrads, prepareDistillBatch, teacherLatents, type DistillBatch, type DistillStep } from './distill-loss.js';
export { evaluateStudent, type EvaluateStudentOptions, type StudentEvalResult } from './evaluate-student.js';
export { DISTILL_OBJECTIVE, Distiller, distillTfEngine, type DistillEngine, type DistillerOptions, type DistillEvent, type DistillSummary, type DistillTypes } from './distiller.js';
export { distill, type DistillRunOptions, type DistillRunResult } from './distill.js';
