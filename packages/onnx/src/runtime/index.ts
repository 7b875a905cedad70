/**
 * @farmer/onnx/runtime: FARMER on onnxruntime-node. `loadOrtRunner(dir)`
 * opens an export folder (written by `exportOnnx`) as a FarmerRunner and a
 * FarmerLikelihood: the shared `OrtRunner` (also in `@farmer/onnx/web`) with
 * onnxruntime-node injected. This entry point loads the native binding.
 */
export { loadOrtRunner, type OrtRunnerOptions } from './load-ort-runner.js';
export { OrtRunner, type OrtExportSource, type OrtOpenOptions, type ProviderChoice, type RunnerPurpose } from '../ort/ort-runner.js';
export { OrtArStream } from '../ort/ort-ar-stream.js';
export type { OrtBinding } from '../ort/ort-binding.js';
export { OrtGradient, type OrtGradientOptions, type OrtGradientResult } from './ort-gradient.js';
export { OrtDistillGradient, type DistillGradientBatch, type OrtDistillResult } from './ort-distill-gradient.js';
export type { GradientSessionOptions } from './gradient-sessions.js';
export { distillOrtEngine, farmerOrtEngine, threadsPerReplica, type OrtDistillEngine, type OrtTrainOptions } from './train-engines.js';
export { distillOrtGradient, farmerOrtGradient, ortHostGradient, type OrtReplicaSpec } from './ort-host-gradients.js';
export { shardDistillBatch } from './ort-distill-gradient.js';
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
export type { GraphModel, SessionSettings } from '../ort/ort-graph.js';
