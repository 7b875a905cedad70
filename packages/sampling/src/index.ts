/**
 * @farmer/sampling: the host-side sampling math of docs/method.md §7 sampling,
 * on typed arrays: decoupled GMM sampling, resampling-based CFG
 * (paper Algorithm 1), the naive CFG baseline and guidance schedules, and
 * the one schema of generate's options that the CLI, the server, the
 * playground and the queue derive theirs from. No tensors, no model code,
 * no Node module: the whole package runs in a browser
 * (`@farmer/sampling/browser` names the same module, for symmetry with core
 * and ar-gmm).
 */
export {
  drawDecoupled,
  decoupledRows,
  PAPER_UNGUIDED_DECOUPLED,
  sampleDecoupled,
  sampleDecoupledMany,
  type DecoupledOptions,
  type GmmDraws,
  type ResolvedDecoupledOptions,
} from './decoupled.js';
export {
  PAPER_RESAMPLING_CFG,
  resampleRows,
  resamplingCfgInformative,
  resamplingCfgRedundant,
  resolveResamplingCfgOptions,
  type CfgRows,
  type PoolSizes,
  type ResampledDraws,
  type ResamplingCfgOptions,
  type ResamplingDiagnostics,
  type ResolvedResamplingCfgOptions,
} from './resampling-cfg.js';
export { naiveCfgGaussian, naiveCfgRows, sampleNaiveCfg, type Gaussian1d, type NaiveCfgDraws, type NaiveCfgOptions, type ResolvedNaiveCfgOptions } from './naive-cfg.js';
export { guidanceWeight, guidanceWeights, type GuidanceSchedule } from './guidance-schedule.js';
export { decodeRedrawing, describeRedrawn, type RedrawnImage } from './redraw-undecodable.js';
export {
  GENERATE_OPTIONS_SCHEMA,
  IMAGE_SEED_PATTERN,
  SAMPLER_NAMES,
  servedGenerateOptionsSchema,
  type GenerateOptionsInput,
  type ParsedGenerateOptions,
  type RequestCaps,
  type SamplerName,
} from './generate-options-schema.js';
export { generateOptionFields, generateOptionProblem, generateOptionsFromValues, type GenerateOptionField, type GenerateOptionKind } from './generate-option-fields.js';
export { describeOptionIssue, optionField, parseOptions } from './parse-options.js';
export { DEFAULT_BATCH_SIZE, DEFAULT_REDRAWS } from './sampler-defaults.js';
export { seedOf } from './seed-of.js';
export { imageCount } from './image-count.js';
export { resolveGenerateOptions, type GenerateOptions, type GenerateProgress, type ResolvedGenerateOptions } from './resolve-generate-options.js';
export { generate, type GenerateResult, type GenerateTimings } from './generate.js';
export { JACOBI_AUTO_MAX_BATCH, resolveDecoder } from './decoder-choice.js';
export { compareRuntimeImages, RUNTIME_AGREEMENT, type RuntimeAgreement, type RuntimeAgreementRule } from './runtime-agreement.js';
export { generateBatchKey, generateTogether, type GenerateRequest } from './generate-together.js';
export { measureJacobiPlan, type MeasureJacobiPlanOptions } from './calibrate-jacobi.js';
