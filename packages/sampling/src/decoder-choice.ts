import type { Decoder, FarmerRunner } from '@farmer/ar-gmm/browser';

/**
 * The largest batch at which `decoder: 'auto'` picks Jacobi, per runtime
 * (and onnxruntime execution provider), measured by `npm run bench -- jacobi`
 * on the built-in models (docs/method.md §3.13 Jacobi decoding). 0: never.
 * - tfjs: every sequential token step is a round of JavaScript op dispatch, so
 *   Jacobi's few full passes win at small batches (3.3× at batch 1, 1.1× at 4,
 *   0.4× at 16 on mnist-small, tfjs-wasm);
 * - onnxruntime on CPU (Node): a block's sequential inverse is one ONNX Loop
 *   call whose steps cost ~63 µs each, about 1/6 of a Jacobi pass, and Jacobi
 *   needs 5–14 passes per block, so the sequential inverse is as fast or
 *   faster at every batch;
 * - onnxruntime-web (wasm, the browser): as on Node.
 */
export const JACOBI_AUTO_MAX_BATCH: Readonly<Record<string, number>> = Object.freeze({ tfjs: 4, 'onnxruntime/cpu': 0, 'onnxruntime/wasm': 0 });

/** A runner's key in {@link JACOBI_AUTO_MAX_BATCH}: its runtime, and for onnxruntime its execution provider. */
function runtimeKey(runner: Pick<FarmerRunner, 'runtime'> & { executionProvider?: { name: string } }): string {
  return runner.executionProvider ? `${runner.runtime}/${runner.executionProvider.name}` : runner.runtime;
}

/**
 * What `decoder: 'auto'` becomes: the fastest exact decoder for the batch
 * size on the runner's runtime (docs/method.md §3.13 Jacobi decoding). Jacobi where the runner has it and
 * the batch is at most the runtime's {@link JACOBI_AUTO_MAX_BATCH}, else the
 * sequential inverse (also for runtimes not measured).
 */
export function resolveDecoder(runner: Pick<FarmerRunner, 'decoders' | 'runtime'> & { executionProvider?: { name: string } }, batchSize: number): Exclude<Decoder, 'student'> {
  const max = JACOBI_AUTO_MAX_BATCH[runtimeKey(runner)] ?? 0;
  return runner.decoders.includes('jacobi') && batchSize <= max ? 'jacobi' : 'flow';
}
