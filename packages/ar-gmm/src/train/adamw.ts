import { FarmerError, tf, type TensorMap } from '@farmer/core';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * AdamW (decoupled weight decay) over named variables, with its state held
 * explicitly so that checkpoints can store it exactly: p ← p − lr·(m̂/(√v̂ + ε) + λ·p).
 * Weight decay applies to tensors of rank ≥ 2 (weights and embeddings), not to
 * biases or LayerNorm gains, as in nanoGPT.
 */
export class AdamW {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;

  constructor(
    readonly names: string[],
    readonly vars: tf.Variable[],
    readonly opts: AdamWOptions,
  ) {
    this.m = vars.map((p) => tf.variable(tf.zerosLike(p), false));
    this.v = vars.map((p) => tf.variable(tf.zerosLike(p), false));
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

  /** Raw state (for replicas): m and v per variable, and the step. */
  rawState(): { m: Float32Array[]; v: Float32Array[]; t: number } {
    return { m: this.m.map((x) => Float32Array.from(x.dataSync() as Float32Array)), v: this.v.map((x) => Float32Array.from(x.dataSync() as Float32Array)), t: this.t };
  }

  /** Sets the raw state (m, v per variable in `vars` order, and the step). */
  loadState(m: Float32Array[], v: Float32Array[], t: number): void {
    this.vars.forEach((p, i) => {
      this.m[i].assign(tf.tensor(m[i], p.shape));
      this.v[i].assign(tf.tensor(v[i], p.shape));
    });
    this.t = t;
  }

  /** State as host tensors: `m.<name>`, `v.<name>`, and the step count. */
  stateToTensorMap(): TensorMap {
    const out: TensorMap = { step: { dtype: 'I64', shape: [], data: BigInt64Array.from([BigInt(this.t)]) } };
    this.names.forEach((n, i) => {
      out[`m.${n}`] = { dtype: 'F32', shape: this.m[i].shape, data: Float32Array.from(this.m[i].dataSync() as Float32Array) };
      out[`v.${n}`] = { dtype: 'F32', shape: this.v[i].shape, data: Float32Array.from(this.v[i].dataSync() as Float32Array) };
    });
    return out;
  }

  loadStateTensorMap(map: TensorMap, file: string): void {
    const step = map.step;
    if (!step || step.dtype !== 'I64') throw new FarmerError('FARMER_E_CORRUPT', `${file}: missing optimizer step`, { file, tensor: 'step' });
    this.names.forEach((n, i) => {
      for (const [kind, arr] of [['m', this.m], ['v', this.v]] as const) {
        const t = map[`${kind}.${n}`];
        const want = arr[i].shape;
        if (!t || t.dtype !== 'F32' || t.shape.length !== want.length || t.shape.some((s, j) => s !== want[j])) {
          throw new FarmerError('FARMER_E_SHAPE', `${file}: optimizer state '${kind}.${n}' is missing or not F32[${want}] (was the checkpoint made for another architecture?)`, { file, tensor: `${kind}.${n}` });
        }
        arr[i].assign(tf.tensor(t.data as Float32Array, want));
      }
    });
    this.t = Number((step.data as BigInt64Array)[0]);
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
