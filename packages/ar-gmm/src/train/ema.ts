import { tf } from '@farmer/core';

/**
 * Exponential moving average of weights: e ← d_n·e + (1 − d_n)·p, with the
 * usual warm-up d_n = min(d, (1 + n)/(10 + n)) so that a short run's EMA is
 * not stuck at the initial weights.
 */
export class Ema {
  readonly shadow: tf.Variable[];

  constructor(
    readonly names: string[],
    readonly vars: tf.Variable[],
    readonly decay: number,
  ) {
    this.shadow = vars.map((p) => tf.variable(p.clone(), false));
  }

  /** Updates so far (part of the training state). */
  updates = 0;

  update(): void {
    const d = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
    this.updates++;
    tf.tidy(() => {
      this.vars.forEach((p, i) => this.shadow[i].assign(tf.add(tf.mul(this.shadow[i], d), tf.mul(p, 1 - d))));
    });
  }

  /** Copies `values` (aligned with vars) into the shadow weights. */
  set(values: tf.Tensor[]): void {
    values.forEach((v, i) => this.shadow[i].assign(v));
  }

  /** Runs `fn` with the EMA weights swapped in, then restores the live weights. */
  async withWeights<T>(fn: () => Promise<T> | T): Promise<T> {
    const saved = this.vars.map((p) => tf.keep(p.clone()));
    this.vars.forEach((p, i) => p.assign(this.shadow[i]));
    try {
      return await fn();
    } finally {
      this.vars.forEach((p, i) => p.assign(saved[i]));
      tf.dispose(saved);
    }
  }

  dispose(): void {
    tf.dispose(this.shadow);
  }
}
