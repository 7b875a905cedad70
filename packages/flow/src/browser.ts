/**
 * @farmer/flow/browser: what a runtime other than tfjs needs of the AF, in a
 * browser too: the config and its sizes, the block permutations and the
 * finiteness check of a reverse. No Node module, no tfjs.
 */
export { FlowConfigSchema, flowDims, parseFlowConfig, type FlowConfig, type FlowConfigInput } from './config.js';
export { isFlipBlock, permutedIndex } from './permutation.js';
export { assertFiniteTokens } from './finite-tokens.js';
export type { FlowReverseProgress } from './reverse-progress.js';
