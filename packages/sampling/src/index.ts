/**
 * @farmer/sampling: the host-side sampling math of docs/method.md §7 sampling,
 * on typed arrays: decoupled GMM sampling, resampling-based CFG
 * (paper Algorithm 1), the naive CFG baseline and guidance schedules. No
 * tensors, no model code, no Node module: the whole package runs in a browser
 * (`@farmer/sampling/browser` names the same module, for symmetry with core
 * and ar-gmm).
 */
export { drawDecoupled, PAPER_UNGUIDED_DECOUPLED, sampleDecoupled, sampleDecoupledMany, type DecoupledOptions, type GmmDraws } from './decoupled.js';
export {
  PAPER_RESAMPLING_CFG,
  resamplingCfgInformative,
  resamplingCfgRedundant,
  resolveResamplingCfgOptions,
  type ResampledDraws,
  type ResamplingCfgOptions,
  type ResamplingDiagnostics,
  type ResolvedResamplingCfgOptions,
} from './resampling-cfg.js';
export { naiveCfgGaussian, sampleNaiveCfg, type Gaussian1d, type NaiveCfgDraws, type NaiveCfgOptions } from './naive-cfg.js';
export { guidanceWeight, guidanceWeights, type GuidanceSchedule } from './guidance-schedule.js';
export { decodeRedrawing, describeRedrawn, type RedrawnImage } from './redraw-undecodable.js';
export {
  DEFAULT_REDRAWS,
  generate,
  resolveGenerateOptions,
  type GenerateOptions,
  type GenerateProgress,
  type GenerateResult,
  type ResolvedGenerateOptions,
  type SamplerName,
} from './generate.js';
export { compareRuntimeImages, RUNTIME_AGREEMENT, type RuntimeAgreement, type RuntimeAgreementRule } from './runtime-agreement.js';
export { generateBatchKey, generateTogether, type GenerateRequest } from './generate-together.js';
