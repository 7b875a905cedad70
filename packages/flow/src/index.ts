/**
 * @farmer/flow: the autoregressive flow (AF) of FARMER, TARFlow-compatible
 * (docs/method.md §3 autoregressive flow), with KV-cached reverse and
 * PyTorch TARFlow import, and the distilled one-step student that inverts it
 * (docs/method.md §8.1 student; trained by @farmer/distill). Everything of
 * `@farmer/flow/browser` (no Node module, no tfjs) is re-exported here.
 */
export * from './browser.js';
export { Flow, type FlowForwardResult, type FlowGuidance, type FlowReverseOptions, type Labels } from './flow.js';
export { flowParamShapes, initFlowParams, initTensor } from './params.js';
export { permuteTokens } from './permute-tokens.js';
export {
  alphaMu,
  blockForward,
  blockInverseStep,
  blockNet,
  blockStep,
  blockWeights,
  classVector,
  classWeights,
  shiftRight,
  type BlockNetOptions,
  type BlockWeights,
} from './block.js';
export {
  causalMaskBias,
  geluExact,
  KVCache,
  layerNorm,
  layerShapes,
  layerWeights,
  linear,
  LN_EPS,
  transformerLayer,
  type LayerOptions,
  type LayerWeights,
} from './transformer.js';
export { FLOW_PREFIX, flowConfigOf, flowFromCheckpoint, loadFlow, saveFlowCheckpoint } from './flow-checkpoint.js';
export {
  importTarflowCheckpoint,
  importTarflowStateDict,
  TarflowHyperSchema,
  tarflowToFlowConfig,
  type ImportedTarflow,
  type TarflowHyper,
} from './tarflow-import.js';
export { STUDENT_PREFIX, Student, studentBlock } from './student.js';
export { flowFingerprint, parseStudentMeta, STUDENT_FORMAT, STUDENT_FORMAT_VERSION, STUDENT_PARTS, StudentMetaSchema, type StudentMeta } from './student-meta.js';
export { attachStudent, inferenceWeightsPart, loadStudent, studentFromCheckpoint, studentMetaOf, studentParts, type LoadStudentOptions } from './student-checkpoint.js';
export { readJacobiPlanFile, writeJacobiPlanFile } from './jacobi-plan-file.js';
