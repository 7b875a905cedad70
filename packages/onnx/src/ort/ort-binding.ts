import type * as Ort from 'onnxruntime-common';

/**
 * The onnxruntime API the runner uses, injected by its caller:
 * `onnxruntime-node` (the `@farmer/onnx/runtime` entry) or `onnxruntime-web`
 * (a page, through `@farmer/onnx/web`). Both re-export onnxruntime-common,
 * whose types are all this package compiles against, so the runner and its
 * AR stream exist once for every runtime.
 */
export type OrtBinding = Pick<typeof Ort, 'InferenceSession' | 'Tensor'>;

/** A tensor of the injected binding. */
export type OrtTensor = Ort.Tensor;

/** An open session of the injected binding. */
export type OrtSession = Ort.InferenceSession;

/** Session options, as onnxruntime-common declares them. */
export type OrtSessionOptions = Ort.InferenceSession.SessionOptions;

/** External data as `InferenceSession.create` takes it: a weights file's name in the graph and its bytes or URL. */
export type OrtExternalData = NonNullable<OrtSessionOptions['externalData']>;

/** Disposes tensors (a no-op for CPU tensors beyond dropping their data, but the contract for GPU ones). */
export function disposeTensors(ts: Iterable<OrtTensor | undefined>): void {
  for (const t of ts) t?.dispose();
}
