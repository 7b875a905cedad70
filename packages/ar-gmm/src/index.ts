/**
 * @farmer/ar-gmm: the AR backbone with GMM heads (docs/method.md §4 AR-GMM), the joint
 * FARMER model and its training objective.
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
export { gmmLogProb, headToGmm, type GmmTensors } from './gmm.js';
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
export { arParamShapes, initArParams, INITIAL_MEAN_SPREAD, INITIAL_SIGMA } from './ar-params.js';
export { finalPermuteFlips, toArOrder, toArOrderHost } from './final-permute.js';
export { ArModel, TfArStream, type StepGmm } from './ar-model.js';
export { AR_PREFIX, FARMER_KIND, farmerFromCheckpoint, FarmerModel, loadFarmer, saveFarmer, type FarmerNll } from './farmer-model.js';
export { preset, PRESET_NAMES, type PresetName } from './presets.js';
export { parseTrainConfig, TrainConfigSchema, type TrainConfig, type TrainConfigInput } from './train/train-config.js';
export { prepareBatch, shardBatch, type PreparedBatch } from './train/batch-prep.js';
export { lossAndGrads, type LossAndGrads } from './train/loss.js';
export { evaluateBpd, imagesBitsPerDim, likelihoodOf, tfLikelihood, type BpdResult, type EvaluateOptions, type FarmerLikelihood, type HostNll } from './likelihood.js';
export { farmerTfBinding, farmerTfEngine, type FarmerEngine, type FarmerFigures, type FarmerTfEngineOptions } from './train/farmer-engine.js';
export { FARMER_OBJECTIVE, farmerObjective, Trainer, type FarmerTypes, type TrainerOptions, type TrainEvent, type TrainSummary } from './train/trainer.js';
export { RESUME_OVERRIDES, train, type TrainRunOptions, type TrainRunResult, type TrainStartInfo } from './train/train.js';
export { loadTfRunner, TfRunner, type ArStream, type Decoder, type DecodeOptions, type FarmerRunner, type StudentDecode } from './runner.js';
