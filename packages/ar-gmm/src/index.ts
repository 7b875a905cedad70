/**
 * @farmer/ar-gmm: the AR backbone with GMM heads (docs/method.md §4 AR-GMM), the joint
 * FARMER model and its training objective. Everything of `@farmer/ar-gmm/browser`
 * (no Node module, no tfjs) is re-exported here.
 */
export * from './browser.js';
export { gmmLogProb, headToGmm, type GmmTensors } from './gmm.js';
export { arParamShapes, initArParams, INITIAL_MEAN_SPREAD, INITIAL_SIGMA } from './ar-params.js';
export { toArOrder } from './to-ar-order.js';
export { ArModel } from './ar-model.js';
export { TfArStream } from './tf-ar-stream.js';
export type { ArStreamSource, ArWeights } from './ar-stream-source.js';
export { AR_PREFIX, FARMER_KIND, farmerFromCheckpoint, FarmerModel, loadFarmer, saveFarmer, type FarmerNll } from './farmer-model.js';
export { preset, PRESET_NAMES, type PresetName } from './presets.js';
export { parseTrainConfig, TrainConfigSchema, type TrainConfig, type TrainConfigInput } from './train/train-config.js';
export { prepareBatch, shardBatch, type PreparedBatch } from './train/batch-prep.js';
export { lossAndGrads, type LossAndGrads } from './train/loss.js';
export { evaluateBpd, imagesBitsPerDim, tfLikelihood, type BpdResult, type EvaluateOptions } from './likelihood.js';
export { farmerTfBinding, farmerTfEngine, type FarmerEngine, type FarmerFigures, type FarmerTfEngineOptions } from './train/farmer-engine.js';
export { FARMER_OBJECTIVE, farmerObjective, Trainer, type FarmerTypes, type TrainerOptions, type TrainEvent, type TrainSummary } from './train/trainer.js';
export { RESUME_OVERRIDES, train, type TrainRunOptions, type TrainRunResult, type TrainStartInfo } from './train/train.js';
export { loadTfRunner, TfRunner, type StudentDecode } from './runner.js';
