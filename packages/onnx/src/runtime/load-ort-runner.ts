import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { GraphEntry } from '../manifest.js';
import { OrtRunner, type OrtOpenOptions, type RunnerPurpose } from '../ort/ort-runner.js';
import { readOnnxExport } from '../read-export.js';
import { candidateProviders, parseExecutionProvider, type ExecutionProviderName, type ExecutionProviderRequest } from './execution-provider.js';

export interface OrtRunnerOptions extends Omit<OrtOpenOptions<ExecutionProviderName>, 'providers' | 'requested' | 'skipped'> {
  /** 'auto' (default; env FARMER_ORT_PROVIDER): CUDA when onnxruntime-node has its provider, else CPU. */
  executionProvider?: ExecutionProviderRequest;
  /** Graphs to open (default both); the others' files are still checksummed. */
  purposes?: RunnerPurpose[];
  /** Verify every file's SHA-256 (default true). */
  verify?: boolean;
}

/**
 * Opens an ONNX export folder on onnxruntime-node: validates it (manifest,
 * every file's checksum; errors name the file at fault, see
 * readOnnxExport), then opens the sessions of the shared `OrtRunner` from
 * the graph files on disk. With 'auto', a CUDA provider that fails to start
 * falls back to the CPU, and `executionProvider.skipped` says why.
 */
export async function loadOrtRunner(dir: string, options: OrtRunnerOptions = {}): Promise<OrtRunner<ExecutionProviderName>> {
  const requested = parseExecutionProvider(options.executionProvider ?? process.env.FARMER_ORT_PROVIDER);
  const { order, skipped } = candidateProviders(requested);
  const source = await readOnnxExport(dir, { verify: options.verify });
  return OrtRunner.open(
    ort,
    // onnxruntime-node finds each graph's weights file beside it.
    { location: source.dir, manifest: source.manifest, config: source.config, graph: (entry: GraphEntry) => ({ location: join(source.dir, entry.file), model: join(source.dir, entry.file) }) },
    { ...options, providers: order, requested, skipped },
  );
}
