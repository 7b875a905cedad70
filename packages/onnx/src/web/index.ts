/**
 * @farmer/onnx/web: FARMER on onnxruntime-web, for pages. The shared
 * `OrtRunner` with the page's onnxruntime-web injected (`loadWebRunner`),
 * exports read from a URL or picked files and verified (`readWebExport`),
 * the manifest schema and checks, and the likelihood from raw outputs. No
 * Node module, no tfjs, no onnxruntime binding of its own.
 */
export { loadWebRunner, type WebProviderName, type WebRunnerOptions } from './load-web-runner.js';
export { readWebExport, type ExportLocation, type PickedFile, type ReadWebExportOptions, type WebExport } from './web-export.js';
export { OrtRunner, type OrtExportSource, type OrtOpenOptions, type ProviderChoice, type RunnerPurpose } from '../ort/ort-runner.js';
export type { OrtBinding } from '../ort/ort-binding.js';
export type { GraphModel, SessionSettings } from '../ort/ort-graph.js';
export { checkExportFile, parseExportManifest } from '../export-manifest.js';
export { manifestGraphs, ONNX_EXPORT_FORMAT, OnnxManifestSchema, type GraphEntry, type OnnxManifest } from '../manifest.js';
export { nllFromRawOutputs } from '../likelihood.js';
