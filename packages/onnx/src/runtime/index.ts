/**
 * @farmer/onnx/runtime: FARMER on onnxruntime-node. `loadOrtRunner(dir)`
 * opens an export folder (written by `exportOnnx`) as a FarmerRunner and a
 * FarmerLikelihood. This entry point loads the native onnxruntime binding.
 */
export { loadOrtRunner, OrtRunner, type OrtRunnerOptions, type RunnerPurpose } from './ort-runner.js';
export { OrtArStream } from './ort-ar-stream.js';
export { OrtGradient, type OrtGradientOptions, type OrtGradientResult } from './ort-gradient.js';
export { OrtDistillGradient, type DistillGradientBatch, type OrtDistillResult } from './ort-distill-gradient.js';
export type { GradientSessionOptions } from './gradient-sessions.js';
export { distillOrtEngine, farmerOrtEngine, type OrtDistillEngine, type OrtTrainOptions } from './train-engines.js';
export {
  CUDA_INSTALL_HINT,
  describeExecutionProvider,
  detectCuda,
  EXECUTION_PROVIDERS,
  parseExecutionProvider,
  type ExecutionProviderInfo,
  type ExecutionProviderName,
  type ExecutionProviderRequest,
} from './execution-provider.js';
export type { SessionSettings } from './ort-graph.js';
