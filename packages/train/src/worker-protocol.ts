import type { BackendName } from '@farmer/core';
import type { AdamWOptions, OptimizerState } from './engine.js';
import type { Figures, ReplicaSource } from './objective.js';

/** Messages from the trainer (main thread) to a training worker. */
export type ToWorker =
  | {
      type: 'init';
      backend: BackendName;
      /** The module and spec the worker builds its replica from. */
      replica: ReplicaSource;
      adamw: AdamWOptions;
      /** Every variable's value, in the objective's params order (in-memory layout). */
      weights: Float32Array[];
      /** AdamW state in the same order, and its step. */
      optimizer: OptimizerState;
      /** Test hook: throw on this compute request (1-based). */
      failAtStep?: number;
    }
  | { type: 'compute'; id: number; batch: unknown }
  | { type: 'update'; id: number; grads: Float32Array | null; lr: number; scale: number }
  | { type: 'checksum'; id: number };

/** Messages from a training worker. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'grads'; id: number; loss: number; figures: Figures; grads: Float32Array }
  | { type: 'updated'; id: number }
  | { type: 'checksum'; id: number; sum: number; numTensors: number }
  | { type: 'error'; message: string; stack?: string };

/** The buffers of a batch's typed-array fields, to transfer instead of copy. */
export function transferables(batch: unknown): ArrayBuffer[] {
  if (!batch || typeof batch !== 'object') return [];
  return Object.values(batch).flatMap((v) => (ArrayBuffer.isView(v) ? [v.buffer as ArrayBuffer] : []));
}

/** Concatenates arrays into one buffer (for one transfer). */
export function flatten(parts: ArrayLike<number>[]): Float32Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Splits a flat buffer back into pieces of the given sizes (views, no copy). */
export function unflatten(flat: Float32Array, sizes: number[]): Float32Array[] {
  const out: Float32Array[] = [];
  let o = 0;
  for (const s of sizes) {
    out.push(flat.subarray(o, o + s));
    o += s;
  }
  return out;
}

/** Σ of all weights in float64: replicas that agree bit-for-bit agree here. */
export function weightChecksum(parts: ArrayLike<number>[]): number {
  let s = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) s += p[i] * (1 + (i % 7));
  return s;
}
