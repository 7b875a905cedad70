import { tf } from '@farmer/core';
import type { AdamWOptions, OptimizerState } from './engine.js';

/**
 * AdamW (decoupled weight decay) over tfjs variables, with its state held
 * explicitly so that checkpoints can store it exactly: p ← p − lr·(m̂/(√v̂ + ε) + λ·p)
 * (docs/method.md §6.2 AdamW). Weight decay applies to tensors of rank ≥ 2
 * (weights and embeddings), not to biases or LayerNorm gains, as in nanoGPT.
 */
export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;

  constructor(
    readonly vars: tf.Variable[],
    readonly opts: AdamWOptions,
  ) {
    // tidy frees the zero tensors; the variables keep their data and outlive the scope.
    this.m = tf.tidy(() => vars.map((p) => tf.variable(tf.zerosLike(p), false)));
    this.v = tf.tidy(() => vars.map((p) => tf.variable(tf.zerosLike(p), false)));
  }

  /** Updates taken so far. */
  get step(): number {
    return this.t;
  }

  /** One update from `grads` (aligned with `vars`) at learning rate `lr`. */
  apply(grads: tf.Tensor[], lr: number): void {
    this.t++;
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.opts;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    tf.tidy(() => {
      this.vars.forEach((p, i) => {
        const g = grads[i];
        const m = tf.add(tf.mul(this.m[i], b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(g), 1 - b2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        let upd = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        if (wd > 0 && p.rank >= 2) upd = tf.add(upd, tf.mul(p, wd));
        p.assign(tf.sub(p, tf.mul(upd, lr)));
      });
    });
  }

  /** A host copy of the state. */
  rawState(): OptimizerState {
    const copy = (x: tf.Variable) => Float32Array.from(x.dataSync() as Float32Array);
    return { m: this.m.map(copy), v: this.v.map(copy), step: this.t };
  }

  /** Sets the state (m, v per variable in `vars` order, and the step). */
  loadState(s: OptimizerState): void {
    tf.tidy(() =>
      this.vars.forEach((p, i) => {
        this.m[i].assign(tf.tensor(s.m[i], p.shape));
        this.v[i].assign(tf.tensor(s.v[i], p.shape));
      }),
    );
    this.t = s.step;
  }

  /** Disposes the moment tensors. */
  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
