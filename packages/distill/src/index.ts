/**
 * @farmer/distill: one-step distillation of the AF inverse
 * (docs/method.md §8 distillation, the paper's Algorithm 2). A student copy
 * of the teacher's AF blocks, with bidirectional attention and unshifted
 * outputs, decodes latents in n parallel passes instead of n·(N−1)
 * sequential ones.
 */
export { STUDENT_PREFIX, Student, studentBlock } from './student.js';
export {
  flowFingerprint,
  parseStudentMeta,
  STUDENT_FORMAT,
  STUDENT_FORMAT_VERSION,
  STUDENT_PARTS,
  StudentMetaSchema,
  type StudentMeta,
} from './student-meta.js';
export { DistillConfigSchema, parseDistillConfig, type DistillConfig, type DistillConfigInput } from './distill-config.js';
export { distillLoss, distillLossAndGrads, prepareDistillBatch, teacherLatents, type DistillBatch, type DistillStep } from './distill-loss.js';
export { evaluateStudent, type EvaluateStudentOptions, type StudentEvalResult } from './evaluate-student.js';
export { DISTILL_OBJECTIVE, Distiller, distillTfEngine, type DistillEngine, type DistillerOptions, type DistillEvent, type DistillSummary, type DistillTypes } from './distiller.js';
export { attachStudent, loadRunnerWithStudent, loadStudent, studentFromCheckpoint, studentMetaOf, type LoadStudentOptions } from './student-store.js';
export { distill, type DistillRunOptions, type DistillRunResult } from './distill.js';
