/**
 * @farmer/runtime: one way to open a FARMER model for inference, used by
 * the CLI and the server: a checkpoint or run directory, its inference
 * weights (EMA) and distilled student, the runtime choice (auto, onnx,
 * tfjs) with the ONNX export made on first use and checked for freshness,
 * onnxruntime's execution provider, and what the opened model can do (a
 * sampler always, a likelihood when opened for one).
 */
export { discoverModels, MODEL_NAME_PATTERN, type ModelSource } from './discover-models.js';
export { openModel, type LikelihoodIf, type OpenedModel, type OpenModelOptions } from './open-model.js';
export { parseRuntimeChoice, RUNTIME_CHOICES, type RuntimeChoice } from './runtime-choice.js';
export { loadRunnerWithStudent, type LoadRunnerWithStudentOptions, type TfRunnerWithStudent } from './student-runner.js';
export { exportCandidates, exportOnFirstUse, findCurrentExport, type ExportOnFirstUseOptions, type FirstUseExport } from './export-on-first-use.js';
export { exportFreshness, type ExportFreshness } from './export-freshness.js';
export { cachedExportDir, exportCacheRoot } from './export-cache.js';
export { withFileLock, type FileLockOptions } from './file-lock.js';
