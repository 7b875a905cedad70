import { describeOrtNodeLoadFailure, FarmerError } from '@farmer/core';

/** The onnxruntime-node module. */
export type OrtNode = typeof import('onnxruntime-node');

/**
 * Imports onnxruntime-node on first use: it is an optional dependency (npm
 * leaves it out when its install script cannot download the CUDA provider),
 * so importing `@farmer/eval/onnx` must not need it. A failure is a
 * FARMER_E_BACKEND error saying what needs it (`what`), why it cannot be
 * loaded and how to install it.
 *
 * @param load - how the module is imported (a seam for tests).
 */
export async function loadOrtNode(what: string, load: () => Promise<OrtNode> = () => import('onnxruntime-node')): Promise<OrtNode> {
  try {
    return await load();
  } catch (e) {
    throw new FarmerError('FARMER_E_BACKEND', `${what} needs onnxruntime-node: ${describeOrtNodeLoadFailure(e)}`, undefined, { cause: e });
  }
}
