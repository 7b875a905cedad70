/**
 * @farmer/eval: sample-quality metrics on feature matrices (FID, KID,
 * Inception Score, precision/recall), reference statistics tied to their
 * extractor, and the feature-extractor contract. All math is float64 on typed
 * arrays. The ONNX extractor lives behind `@farmer/eval/onnx`, so importing
 * this entry never loads onnxruntime-node.
 */
export { checkFeatureMatrix, featureMatrix, type FeatureMatrix } from './feature-matrix.js';
export { FeatureStatsAccumulator, featureStats, type FeatureStats } from './feature-stats.js';
export { fid, frechetDistance, traceSqrtProduct } from './fid.js';
export { drawKidSubsets, kid, kidOnSubsets, polynomialMmd2, type KidOptions, type KidResult, type KidSubset } from './kid.js';
export { inceptionScore, softmaxRows, type InceptionScoreOptions, type InceptionScoreResult } from './inception-score.js';
export { knnRadii, manifoldCoverage, precisionRecall, type PrecisionRecallOptions, type PrecisionRecallResult } from './precision-recall.js';
export { hashParts, type ExtractOptions, type ExtractorIdentity, type FeatureExtractor } from './feature-extractor.js';
export {
  checkExtractorMatch,
  computeReferenceStats,
  decodeReferenceStats,
  encodeReferenceStats,
  loadReferenceStats,
  REFERENCE_STATS_FORMAT,
  REFERENCE_STATS_VERSION,
  saveReferenceStats,
  type ComputeReferenceStatsOptions,
  type LoadReferenceStatsOptions,
  type ReferenceStats,
} from './reference-stats.js';
export { symEigen, type SymEigen, type SymEigenOptions } from './sym-eigen.js';
export { psdFactor, type PsdFactor, type PsdFactorOptions } from './psd-factor.js';
export { separationExperiment, type SeparationOptions, type SeparationResult } from './diagnostics/separation.js';
export {
  checkClassifierOutput,
  classifierAgreement,
  CLASSIFIER_KIND,
  ClassifierConfigSchema,
  FeatureClassifier,
  loadClassifier,
  MlpClassifier,
  parseClassifierConfig,
  saveClassifier,
  trainClassifier,
  type ClassifierConfig,
  type TrainClassifierOptions,
} from './classifier/classifier.js';
export { logdetDiagnostics, type LogdetDiagnostics } from './diagnostics/logdet.js';
export { SAMPLE_METRICS, sampleMetrics, type ProbabilityExtractor, type SampleMetric, type SampleMetricsOptions, type SampleMetricsResult } from './sample-metrics.js';
export { calibration, confusionMatrix, type Calibration, type ReliabilityBin } from './calibration.js';
export { auroc } from './auroc.js';
export { evaluateBayesClassifier, type BayesClassifierOptions, type BayesClassifierReport, type LabelledImages } from './likelihood/bayes-classifier.js';
export { gaussian2, moments, OOD_STATS_FILE, OOD_STATS_FORMAT, OOD_STATS_VERSION, OodStatsSchema, oodStatsOutdated, readOodStats, readOptionalOodStats, typicality, writeOodStats, type OodStats } from './likelihood/ood-stats.js';
export { computeOodStats, evaluateOod, scoreClassified, scoreOod, type OodOptions, type OodReport, type OodScoring } from './likelihood/ood.js';
export {
  classMargin,
  complexityCorrected,
  complexityTypicality,
  DEFAULT_OOD_SCORE,
  informativeBitsPerDim,
  lowLevelRatio,
  OOD_ORIENTATION,
  OOD_SCORES,
  oodScores,
  posteriorEntropy,
  type OodDims,
  type OodScore,
} from './likelihood/ood-scores.js';
export { fprAtTpr } from './fpr-at-tpr.js';
export { balancedMean, classCounts, countWeightedMean } from './class-weighting.js';
export { agreementReference, type AgreementReference } from './classifier/agreement-reference.js';
