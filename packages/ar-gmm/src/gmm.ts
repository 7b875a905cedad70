import { tf } from '@farmer/core';
import { HALF_LOG_2PI } from './gmm-host.js';

/**
 * GMM heads in tfjs (docs/method.md §4.5 head output layout):
 * [logits (K) | means (K·dim, component-major) | σ pre-activations (K·dim)],
 * σ = softplus(u) + σ_min, which is bounded below and grows linearly, so no
 * exp can overflow.
 */
export interface GmmTensors {
  /** [..., K] */
  logits: tf.Tensor;
  /** [..., K, dim] */
  means: tf.Tensor;
  /** [..., K, dim], all ≥ σ_min */
  sigmas: tf.Tensor;
}

/** Splits a head output [..., K(1+2·dim)] into mixture parameters. */
export function headToGmm(out: tf.Tensor, k: number, dim: number, sigmaMin: number): GmmTensors {
  const lead = out.shape.slice(0, -1);
  const last = out.rank - 1;
  const [logits, m, u] = tf.split(out, [k, k * dim, k * dim], last);
  return {
    logits,
    means: tf.reshape(m, [...lead, k, dim]),
    sigmas: tf.add(tf.softplus(tf.reshape(u, [...lead, k, dim])), sigmaMin),
  };
}

/**
 * log G(z) = logsumexp_k [log_softmax(logits)_k + Σ_j log N(z_j; μ_kj, σ_kj²)].
 * z [..., dim] against a GMM whose leading shape broadcasts with z's.
 * Returns [...].
 */
export function gmmLogProb(z: tf.Tensor, g: GmmTensors): tf.Tensor {
  const dim = z.shape[z.rank - 1];
  const u = tf.div(tf.sub(tf.expandDims(z, -2), g.means), g.sigmas);
  // Per-component negative log-likelihood: Σ_j (½u² + log σ) + dim·½·log 2π.
  const nll = tf.add(tf.sum(tf.add(tf.mul(tf.square(u), 0.5), tf.log(g.sigmas)), -1), dim * HALF_LOG_2PI);
  const joint = tf.sub(tf.logSoftmax(g.logits), nll);
  return tf.logSumExp(joint, -1);
}
