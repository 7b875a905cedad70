import { tf } from '@farmer/core';
import type { EmaState } from './engine.js';

/**
 * Decay of the n-th EMA update: d_n = min(d, (1 + n)/(10 + n)), the usual
 * warm-up so that a short run's EMA is not stuck at the initial weights
 * (docs/method.md §6.5 EMA).
 */
export function emaDecayAt(decay: number, updates: number): number {
  return Math.min(decay, (1 + updates) / (10 + updates));
}

/** Exponential moving average of tfjs variables: e ← d_n·e + (1 − d_n)·p. */
export class Ema {
  readonly shadow: tf.Variable[];
  /** Updates so far (part of the training state). */
  updates = 0;

  constructor(
    readonly vars: tf.Variable[],
    readonly decay: number,
  ) {
    this.shadow = tf.tidy(() => vars.map((p) => tf.variable(p.clone(), false)));
  }

  /** Moves the shadow weights towards the current ones, with the warmed-up decay (docs/method.md §6.5 EMA). */
  update(): void {
    const d = emaDecayAt(this.decay, this.updates);
    this.updates++;
    tf.tidy(() => {
      this.vars.forEach((p, i) => this.shadow[i].assign(tf.add(tf.mul(this.shadow[i], d), tf.mul(p, 1 - d))));
    });
  }

  /** A host copy of the shadow weights and the update count. */
  rawState(): EmaState {
    return { weights: this.shadow.map((s) => Float32Array.from(s.dataSync() as Float32Array)), updates: this.updates };
  }

  /** Restores shadow weights and update count saved by {@link Ema.rawState}. */
  loadState(s: EmaState): void {
    tf.tidy(() => this.shadow.forEach((v, i) => v.assign(tf.tensor(s.weights[i], v.shape))));
    this.updates = s.updates;
  }

  /** Disposes the shadow weights. */
  dispose(): void {
    tf.dispose(this.shadow);
  }
}
