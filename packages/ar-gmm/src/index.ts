/**
 * @farmer/ar-gmm: the AR backbone with GMM heads (method doc §3), the joint
 * FARMER model and its trainer.
 */
export {
  checkGmmBatch,
  gaussianLogPdf,
  gmmComponentLogLik,
  gmmLogDensity,
  logMixtureWeights,
  logSumExp,
  selectGmmRows,
  type GmmBatch,
  type GmmTemperature,
} from './gmm-host.js';
