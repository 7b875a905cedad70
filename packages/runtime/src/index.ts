/**
 * @farmer/runtime: one way to open a FARMER model for inference, used by
 * the CLI and the server: a checkpoint or run directory, its inference
 * weights (EMA) and distilled student, the runtime choice (auto, onnx,
 * tfjs) with the ONNX export made on first use and checked for freshness,
 * onnxruntime's execution provider, and the likelihood view. Also the
 * command line of the inference server, shared by its bin and `farmer serve`.
 */
export { discoverModels, MODEL_NAME_PATTERN, type ModelSource } from './discover-models.js';
export { openModel, type OpenedModel, type OpenModelOptions } from './open-model.js';
export { parseRuntimeChoice, RUNTIME_CHOICES, type RuntimeChoice } from './runtime-choice.js';
export { loadRunnerWithStudent, type LoadRunnerWithStudentOptions, type TfRunnerWithStudent } from './student-runner.js';
export { exportCandidates, exportOnFirstUse, findCurrentExport, type ExportOnFirstUseOptions, type FirstUseExport } from './export-on-first-use.js';
export { exportFreshness, type ExportFreshness } from './export-freshness.js';
export { cachedExportDir, exportCacheRoot } from './export-cache.js';
export { withFileLock, type FileLockOptions } from './file-lock.js';
export { bitsPerDimOf, type BitsPerDim } from './likelihood-view.js';
export { parseServerArgs, SERVER_DEFAULTS, serverUsage, type ServerArgsOptions, type ServerCliArgs } from './server-args.js';
