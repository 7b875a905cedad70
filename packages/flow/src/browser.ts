/**
 * @farmer/flow/browser: what a runtime other than tfjs needs of the AF, in a
 * browser too: the config and its sizes, the block permutations and the
 * finiteness check of a reverse. No Node module, no tfjs.
 */
export { FlowConfigSchema, flowDims, parseFlowConfig, type FlowConfig, type FlowConfigInput } from './config.js';
export { isFlipBlock, permutedIndex } from './permutation.js';
export { assertFiniteTokens } from './finite-tokens.js';
export type { FlowReverseProgress } from './reverse-progress.js';
export {
  blockPlan,
  checkJacobiSettings,
  defaultJacobiPlan,
  exactIterations,
  JACOBI_DEFAULTS,
  jacobiBlockInverse,
  jacobiDecode,
  moduleBounds,
  toWorkingOrder,
  type JacobiBlockPlan,
  type JacobiBlockStats,
  type JacobiDecodeOptions,
  type JacobiInit,
  type JacobiPass,
  type JacobiPlan,
  type JacobiSettings,
} from './jacobi.js';
export {
  calibrateJacobi,
  JACOBI_PLAN_FILE,
  parseJacobiPlanFile,
  JacobiPlanFileSchema,
  MODULE_CHOICES,
  toughBlocks,
  type ExactBlockInverse,
  type JacobiBlockMeasure,
  type JacobiPlanFile,
} from './jacobi-calibration.js';
