/**
 * @farmer/eval/onnx: feature extraction with any ONNX model through
 * onnxruntime-node (CPU). A separate entry point, so that `@farmer/eval`
 * itself never loads the native runtime.
 */
export { OnnxFeatureExtractor, type OnnxExtractorOptions } from './onnx-extractor.js';
export {
  defaultSidecarPath,
  loadOnnxExtractorSidecar,
  OnnxExtractorSidecarSchema,
  parseOnnxExtractorSidecar,
  type OnnxExtractorSpec,
} from './sidecar.js';
export { bilinearTaps, preprocessImages, type PreprocessSpec } from './preprocess.js';
