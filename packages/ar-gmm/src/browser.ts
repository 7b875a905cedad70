/**
 * @farmer/ar-gmm/browser: the runtime-independent side of the AR-GMM, for
 * runners and samplers that run anywhere, a browser included: the model
 * config and its sizes, the host GMM math
 * (docs/method.md §4.6 GMM log-density), the final permute on host arrays, and the runner and
 * likelihood interfaces (`FarmerRunner`, `ArStream`, `FarmerLikelihood`),
 * what an opened model can do (`ModelCapabilities`), and Bayes
 * classification on any likelihood (`classify`).
 * No Node module, no tfjs.
 */
export {
  checkGmmBatch,
  gmmComponentLogLik,
  gmmLogDensity,
  GmmRowScorer,
  headOutputToGmm,
  logMixtureWeights,
  logSumExp,
  selectGmmRows,
  softplus,
  type GmmBatch,
  type GmmTemperature,
} from './gmm-host.js';
export {
  ArConfigSchema,
  className,
  FarmerConfigSchema,
  farmerDims,
  FINAL_PERMUTES,
  parseFarmerConfig,
  type ArConfig,
  type FarmerConfig,
  type FarmerConfigInput,
  type FarmerDims,
  type FinalPermute,
} from './config.js';
export { modelBackground, modelImageOptions, type ModelImageOptions } from './model-image.js';
export { finalPermuteFlips, toArOrderHost } from './final-permute.js';
export { likelihoodBitsPerDim, likelihoodWithTerms, overflowAsImpossible, type ArLogLik, type FarmerLikelihood, type FlowForwardOutputs, type HostNll, type LikelihoodTerms } from './likelihood-interface.js';
export { arLogLikFromHeads, jointNllHost, type ArHeadOutputs } from './ar-head-loglik.js';
export { classify, type Classification, type ClassifyOptions } from './classify.js';
export { argmaxRow, classPosterior, fitTemperature } from './class-posterior.js';
export type { AfBlockAccess, ArStream, DecodeOptions, Decoder, FarmerRunner, JacobiDecodeSettings, StepGmm } from './runner-interface.js';
export { decodeByJacobi } from './jacobi-decode.js';
export type { ModelCapabilities } from './model-capabilities.js';
