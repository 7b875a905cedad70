import { tf } from '@farmer/core';
import type { FarmerModel } from '../farmer-model.js';
import type { PreparedBatch } from './batch-prep.js';

/** The result of one forward/backward pass on a (shard of a) batch. */
export interface LossAndGrads {
  /** Mean NLL per dim over the batch (nats). */
  loss: number;
  /** Mean Σ_t log|det_t| / (N·d) over the batch. */
  logdetPerDim: number;
  /** Gradients of the mean loss, aligned with model.variables(). Caller disposes. */
  grads: tf.Tensor[];
  batch: number;
}

/** Mean joint NLL per dim of a prepared batch and its gradients for every weight. */
export function lossAndGrads(model: FarmerModel, b: PreparedBatch): LossAndGrads {
  const vars = model.variables();
  const { numTokens: N, tokenDim: d } = model.dims;
  let logdet = 0;
  const { value, grads } = tf.variableGrads(() =>
    tf.tidy(() => {
      const x = tf.tensor4d(b.values, b.shape);
      const r = model.nllImages(x, b.labels);
      logdet = tf.mean(r.logdet).dataSync()[0] / (N * d);
      return tf.mean(r.nllPerDim) as tf.Scalar;
    }),
    vars,
  );
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, logdetPerDim: logdet, grads: vars.map((v) => grads[v.name]), batch: b.shape[0] };
}
