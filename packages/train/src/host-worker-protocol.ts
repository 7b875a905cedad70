import type { Figures, ReplicaSource } from './objective.js';

/** Messages from the trainer to a host-gradient replica worker (host-replica-worker.ts). */
export type ToHostWorker =
  | {
      type: 'init';
      /** The module and spec the worker builds its HostGradient from (`createHostReplica`). */
      replica: ReplicaSource;
      /** Element counts of the parameters, in order (to split the flat weights). */
      sizes: number[];
      /** Test hook: throw on this gradient request (1-based). */
      failAtStep?: number;
    }
  | { type: 'gradient'; id: number; /** Every parameter, concatenated in order. */ weights: Float32Array; batch: unknown }
  | { type: 'dispose' };

/** Messages from a host-gradient replica worker. */
export type FromHostWorker =
  | { type: 'ready'; name: string; threads: number }
  | { type: 'grads'; id: number; loss: number; figures: Figures; /** Every gradient, concatenated in order. */ grads: Float32Array; /** Time in the replica's `gradient`. */ ms: number; /** When the request arrived and the answer left (ms since the epoch, `performance.timeOrigin + now()`). */ at: [number, number] }
  | { type: 'disposed' }
  | { type: 'error'; message: string; stack?: string };
