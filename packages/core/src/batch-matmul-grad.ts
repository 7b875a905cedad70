import { tf } from './tf.js';

/**
 * A BatchMatMul gradient built from explicit transposes and untransposed
 * matMuls. On the wasm backend a transposed matMul runs about 20x slower than
 * `transpose` followed by a plain one, and tfjs's built-in gradient uses
 * transposed matMuls throughout (docs/method.md §13.2 BatchMatMul gradient).
 * The maths is identical: for C = op(A)·op(B), dA and dB follow from dC by
 * the usual rules.
 */
const lastTwoT = (x: tf.Tensor): tf.Tensor => {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
};

/** Sums `g` down to `shape` where batch dimensions were broadcast. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.rank === shape.length && g.shape.every((s, i) => s === shape[i])) return g;
  const lead = g.rank - shape.length;
  let out = lead > 0 ? tf.sum(g, [...Array(lead).keys()]) : g;
  const axes: number[] = [];
  for (let i = 0; i < shape.length - 2; i++) if (shape[i] === 1 && out.shape[i] !== 1) axes.push(i);
  if (axes.length) out = tf.sum(out, axes, true);
  return tf.reshape(out, shape);
}

const fastBatchMatMulGrad: tf.GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const d = dy as tf.Tensor;
    let da: () => tf.Tensor;
    let db: () => tf.Tensor;
    if (!transposeA && !transposeB) {
      da = () => tf.matMul(d, lastTwoT(b));
      db = () => tf.matMul(lastTwoT(a), d);
    } else if (!transposeA && transposeB) {
      da = () => tf.matMul(d, b);
      db = () => tf.matMul(lastTwoT(d), a);
    } else if (transposeA && !transposeB) {
      da = () => tf.matMul(b, lastTwoT(d));
      db = () => tf.matMul(a, d);
    } else {
      da = () => tf.matMul(lastTwoT(b), lastTwoT(d));
      db = () => tf.matMul(lastTwoT(d), lastTwoT(a));
    }
    return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
  },
};

let builtin: tf.GradConfig | undefined;

/**
 * Replaces tfjs's BatchMatMul gradient with the explicit-transpose version.
 * Gradients are registered per kernel, not per backend, so this affects every
 * backend; `initBackend` calls it only when wasm is chosen. Idempotent.
 */
export function registerFastBatchMatMulGrad(): void {
  const current = tf.getGradient('BatchMatMul');
  if (current === fastBatchMatMulGrad) return;
  builtin ??= current;
  tf.registerGradient(fastBatchMatMulGrad);
}

/** Restores tfjs's own BatchMatMul gradient (for tests and benchmarks). */
export function restoreBuiltinBatchMatMulGrad(): void {
  if (!builtin || tf.getGradient('BatchMatMul') === builtin) return;
  tf.registerGradient(builtin);
}

/** True if the explicit-transpose BatchMatMul gradient is active. */
export function isFastBatchMatMulGradActive(): boolean {
  return tf.getGradient('BatchMatMul') === fastBatchMatMulGrad;
}
