import { OrtRunner, type OrtOpenOptions } from '../ort/ort-runner.js';
import type { OrtBinding } from '../ort/ort-binding.js';
import { readWebExport, type ExportLocation, type ReadWebExportOptions, type WebExport } from './web-export.js';

/** Execution providers of onnxruntime-web that farmer-ts uses, best first. */
export type WebProviderName = 'webgpu' | 'wasm';

export interface WebRunnerOptions extends Omit<OrtOpenOptions<WebProviderName>, 'requested'>, ReadWebExportOptions {}

/**
 * Opens an ONNX export in a browser as the shared `OrtRunner` with
 * onnxruntime-web injected (the page imports it, so this package never
 * bundles it): reads and verifies the files (`readWebExport`, unless a
 * `WebExport` is passed), then creates the sessions from their bytes on the
 * first provider of `options.providers` that works (default ['wasm'];
 * ['webgpu', 'wasm'] falls back to wasm and says why in
 * `executionProvider.skipped`).
 */
export async function loadWebRunner(ort: OrtBinding, from: ExportLocation | WebExport, options: WebRunnerOptions = {}): Promise<OrtRunner<WebProviderName>> {
  const source = 'bytes' in from ? from : await readWebExport(from, options);
  const providers = options.providers?.length ? options.providers : (['wasm'] as WebProviderName[]);
  return OrtRunner.open<WebProviderName>(ort, source, { ...options, providers, requested: providers.length > 1 ? 'auto' : providers[0] });
}
