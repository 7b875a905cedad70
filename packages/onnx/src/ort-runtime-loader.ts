/** The runtime entry of this package (onnxruntime-node and the runners and engines over it). */
export type OrtRuntime = typeof import('./runtime/index.js');

const RUNTIME_ENTRY: string = '@farmer/onnx/runtime';

/**
 * onnxruntime-node, loaded on demand: its native binding may be missing or
 * broken on a user's machine, so a failure comes back as the Error (for a
 * caller to report or fall back on), never thrown. The one place that
 * decides whether onnxruntime is usable, for inference and training alike.
 */
export async function loadOrtRuntime(): Promise<OrtRuntime | Error> {
  try {
    // The package's own runtime entry, named through a variable so that neither the bundler nor the
    // type checker pulls it (and its native binding) into this native-free entry.
    const entry = RUNTIME_ENTRY;
    return (await import(entry)) as OrtRuntime;
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}
