import { tf } from '@farmer/core';

/** Global L2 norm √Σ g² of a gradient list (NaN/Inf propagate), the quantity clipped in docs/method.md §6.4 gradient clipping. */
export function globalNorm(grads: tf.Tensor[]): number {
  return tf.tidy(() => Math.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
}
