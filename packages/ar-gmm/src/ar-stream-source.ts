import type { tf } from '@farmer/core';
import type { LayerWeights } from '@farmer/flow';
import type { FarmerConfig, FarmerDims } from './config.js';

/**
 * The AR's weights (docs/method.md §9.2 weight names), resolved from its
 * parameter store: the store's own tensors, so never dispose them. Linear
 * weights are [in, out].
 */
export interface ArWeights {
  /** Class embeddings [C+1, D]; the last row is the null label's. */
  classTable: tf.Tensor2D;
  /** Token input projection [d_I, D] and its bias [D]. */
  projInW: tf.Tensor2D;
  projInB: tf.Tensor1D;
  /** Learned positions [M + N, D]. */
  pos: tf.Tensor2D;
  /** The Transformer layers, bottom first. */
  layers: LayerWeights[];
  /** The final LayerNorm [D]. */
  normW: tf.Tensor1D;
  normB: tf.Tensor1D;
  /** The informative head [D, K_I(1+2d_I)] and its bias. */
  headIW: tf.Tensor2D;
  headIB: tf.Tensor1D;
  /** The redundant head [D, K_R(1+2d_R)] and its bias; absent when d_R = 0. */
  headRW?: tf.Tensor2D;
  headRB?: tf.Tensor1D;
}

/**
 * What an incremental AR stream needs of its model
 * (docs/method.md §4.3 AR sequence): the config, the attention heads, the
 * weights and the class prefix. `ArModel` implements it, and `TfArStream`
 * reads nothing else.
 */
export interface ArStreamSource {
  readonly config: FarmerConfig;
  readonly dims: FarmerDims;
  /** Attention heads per layer (width / headDim). */
  readonly heads: number;
  /** The weights, resolved from the store (a stream resolves them once). */
  weights(): ArWeights;
  /** The class prefix [B, M, D] of `labels` (a class or -1 each; null: the null label) at positions 0..M-1. */
  prefix(w: ArWeights, labels: ArrayLike<number> | null | undefined, batch: number): tf.Tensor3D;
}
