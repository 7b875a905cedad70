/**
 * @farmer/onnx: ONNX export of a FARMER checkpoint (graphs built with
 * onnx-proto at IR 8 / opset 17), the export folder's manifest and its
 * validation, and the runtime-independent likelihood interface. The
 * onnxruntime-node runner lives in the `@farmer/onnx/runtime` entry point,
 * so importing this one never loads a native binding; the same runner on
 * onnxruntime-web, for pages, in `@farmer/onnx/web`.
 */
export { exportFarmerOnnx, exportOnnx, type ExportFarmerOnnxOptions, type ExportOnnxOptions, type ExportProgress, type ExportResult, type StudentWeights } from './export.js';
export {
  GraphEntrySchema,
  KV_CACHE_LAYOUT,
  manifestGraphs,
  MAX_SUPPORTED_OPSET,
  ONNX_EXPORT_FORMAT,
  ONNX_EXPORT_VERSION,
  OnnxManifestSchema,
  type GraphEntry,
  type OnnxManifest,
} from './manifest.js';
export { ONNX_IR_VERSION, ONNX_OPSET, type Dim, type IoSpec, type OnnxDtype } from './graph-builder.js';
export { exportMatchesCheckpoint, isOnnxExport, readOnnxExport, type OnnxExport, type ReadOnnxExportOptions } from './read-export.js';
export { checkExportFile, parseExportManifest } from './export-manifest.js';
export { nllFromRawOutputs, type RawLikelihoodOutputs } from './likelihood.js';
export { classRows } from './class-rows.js';
export {
  buildFarmerGradientGraph,
  farmerGradientCoverage,
  GRADIENT_OUTPUTS,
  type GradientCoverage,
  type GradientGraph,
  type GradientGraphOptions,
} from './gradient-graph.js';
export { farmerParamSpecs, flowParamSpecs } from './param-specs.js';
export { buildDistillGradientGraph, distillGradientCoverage, DISTILL_OUTPUTS, TEACHER_PREFIX, type DistillGradientGraph } from './distill-graph.js';
export { type ParamSpec } from './graph-ops.js';
export {
  chooseDistillEngine,
  chooseFarmerEngine,
  autoLayout,
  chooseTrainEngine,
  resumedLayout,
  distillEngineFor,
  farmerEngineFor,
  TRAIN_ENGINES,
  type ChosenEngine,
  type DistillEngineLike,
  type EngineCandidates,
  type EngineChoiceOptions,
  type MachineFacts,
  type RecordedLayout,
  type OnEngineChosen,
  type TrainEngineChoice,
} from './train-engine-choice.js';
export { loadOrtRuntime, type OrtRuntime } from './ort-runtime-loader.js';
