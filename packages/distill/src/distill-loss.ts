import { noisyImages, patchify, tf, type Batch, type Rng } from '@farmer/core';
import type { Flow, Student } from '@farmer/flow';
import type { DistillConfig } from './distill-config.js';

/** One distillation step's input: the teacher's data and the latent noise, all drawn on the host. */
export interface DistillBatch {
  /** [B, C, H, W] row-major, in [-1, 1] space. */
  values: Float32Array;
  shape: [number, number, number, number];
  /** ε ~ N(0, I), [B, N, d] row-major (AF token order). */
  eps: Float32Array;
  /** s per sample [B], each ~ U[0, s_max] (all equal with `noiseScale: 'per-batch'`). */
  scales: Float32Array;
}

/**
 * Draws a step's randomness from `rng`, in a fixed order (data noise, s, ε),
 * so that a resumed run repeats it exactly.
 */
export function prepareDistillBatch(batch: Batch, cfg: DistillConfig, rng: Rng, tokens: { numTokens: number; tokenDim: number }): DistillBatch {
  const im = batch.images;
  const { values } = noisyImages(im, { mode: cfg.dataNoise }, rng);
  const b = im.count;
  const scales = cfg.noiseScale === 'per-sample' ? rng.uniform(b, 0, cfg.sMax) : new Float32Array(b).fill(rng.uniform(1, 0, cfg.sMax)[0]);
  const eps = rng.normal(b * tokens.numTokens * tokens.tokenDim);
  return { values, shape: [b, im.channels, im.height, im.width], eps, scales };
}

/** The teacher's latents of a batch: `targets[t]` = Z^t [B, N, d], t = 0 … n (Z^0 = the patch tokens). */
export function teacherLatents(teacher: Flow, values: Float32Array, shape: [number, number, number, number]): tf.Tensor3D[] {
  return tf.tidy(() => {
    const x = patchify(tf.tensor4d(values, shape), teacher.config.patchSize);
    const r = teacher.forward(x, { keepLatents: true });
    return [x, ...r.latents!];
  });
}

/**
 * The distillation loss (docs/method.md §8.2 distillation step): the student
 * chained from Z̃^n through its own outputs; per block, the mean over all
 * B·N·d elements of (Z̃^t − Z^t)²; the loss is the mean of those n block
 * errors. `outputs[t]` = Z̃^t, `targets[t]` = Z^t. Returns the loss and the
 * block errors [n].
 */
export function distillLoss(outputs: tf.Tensor3D[], targets: tf.Tensor3D[]): { loss: tf.Scalar; blockMse: tf.Tensor1D } {
  const blockMse = tf.stack(outputs.map((o, t) => tf.mean(tf.squaredDifference(o, targets[t])))) as tf.Tensor1D;
  return { loss: tf.mean(blockMse) as tf.Scalar, blockMse };
}

/** The result of one distillation forward/backward pass. */
export interface DistillStep {
  /** Mean of the per-block MSEs. */
  loss: number;
  /** MSE of each block's output, indexed by block: `blockMse[0]` is the error on the patch tokens. */
  blockMse: number[];
  /** Gradients of the loss, aligned with `student.variables()`. Caller disposes. */
  grads: tf.Tensor[];
}

/**
 * One distillation step (docs/method.md §8.2 distillation step, the paper's
 * Algorithm 2): the frozen teacher encodes the data (outside the gradient
 * tape: the teacher gets no gradients), Z̃^n = Z^n + s·ε, the student chains
 * n−1 … 0, and the gradient of the mean block MSE flows through the whole
 * chain (each block's input is the
 * previous student block's output, not detached).
 */
export function distillLossAndGrads(teacher: Flow, student: Student, b: DistillBatch): DistillStep {
  const targets = teacherLatents(teacher, b.values, b.shape);
  const n = teacher.config.numBlocks;
  const vars = student.variables();
  let blockMse: number[] = [];
  try {
    const { value, grads } = tf.variableGrads(
      () =>
        tf.tidy(() => {
          const zn = targets[n];
          const noise = tf.mul(tf.tensor3d(b.eps, zn.shape), tf.tensor3d(b.scales, [zn.shape[0], 1, 1]));
          const r = distillLoss(student.chain(tf.add(zn, noise) as tf.Tensor3D), targets);
          blockMse = Array.from(r.blockMse.dataSync());
          return r.loss;
        }),
      vars,
    );
    const loss = value.dataSync()[0];
    value.dispose();
    return { loss, blockMse, grads: vars.map((v) => grads[v.name]) };
  } finally {
    tf.dispose(targets);
  }
}
