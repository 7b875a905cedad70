import type { BackendName } from '@farmer/core';
import type { FarmerConfig } from '../config.js';
import type { AdamWOptions } from './adamw.js';

/** Messages from the trainer (main thread) to a training worker. */
export type ToWorker =
  | {
      type: 'init';
      backend: BackendName;
      config: FarmerConfig;
      adamw: AdamWOptions;
      /** Every variable's value, in model.variables() order (internal layout). */
      weights: Float32Array[];
      /** AdamW state in the same order, and its step. */
      m: Float32Array[];
      v: Float32Array[];
      t: number;
      /** Test hook: throw on this compute request (1-based). */
      failAtStep?: number;
    }
  | { type: 'compute'; id: number; values: Float32Array; shape: [number, number, number, number]; labels: Int32Array }
  | { type: 'update'; id: number; grads: Float32Array | null; lr: number; scale: number }
  | { type: 'checksum'; id: number };

/** Messages from a training worker. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'grads'; id: number; loss: number; logdetPerDim: number; grads: Float32Array }
  | { type: 'updated'; id: number }
  | { type: 'checksum'; id: number; sum: number; numTensors: number }
  | { type: 'error'; message: string; stack?: string };

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
