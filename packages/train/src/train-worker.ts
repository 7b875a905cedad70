/**
 * A training worker thread: its own tfjs backend and a full replica of the
 * objective, built from the replica module the trainer names (so this
 * package imports no model package). It computes the loss and gradients on
 * its shard and applies the same AdamW update as every other replica.
 * Started by worker-engine.ts.
 */
import { parentPort } from 'node:worker_threads';
import { serveMessages } from './worker-loop.js';
import { initBackend, tf } from '@farmer/core';
import type { Figures, ReplicaModule, TfBinding } from './objective.js';
import { TfTrainState } from './tf-engine.js';
import { flatten, weightChecksum, type FromWorker, type ToWorker } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('train-worker must run as a worker thread');

let replica: TfBinding<unknown, Figures> | undefined;
let train: TfTrainState | undefined;
let computes = 0;
let failAt: number | undefined;

const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init': {
      await initBackend({ backend: msg.backend });
      const mod = (await import(msg.replica.module)) as ReplicaModule;
      replica = (await mod.createReplica(msg.replica.spec, msg.weights)) as TfBinding<unknown, Figures>;
      train = new TfTrainState(replica.variables, { state: { weights: msg.weights, optimizer: msg.optimizer }, adamw: msg.adamw, ema: null });
      failAt = msg.failAtStep;
      send({ type: 'ready' });
      return;
    }
    case 'compute': {
      computes++;
      if (failAt !== undefined && computes === failAt) throw new Error(`injected failure at step ${computes} (failAtStep test hook)`);
      const r = replica!.lossAndGrads(msg.batch);
      const flat = flatten(r.grads.map((g) => g.dataSync() as Float32Array));
      tf.dispose(r.grads);
      send({ type: 'grads', id: msg.id, loss: r.loss, figures: r.figures, grads: flat }, [flat.buffer as ArrayBuffer]);
      return;
    }
    case 'update': {
      if (msg.grads) {
        const vars = replica!.variables;
        const grads: tf.Tensor[] = [];
        let o = 0;
        for (const v of vars) {
          grads.push(tf.tensor(msg.grads.subarray(o, o + v.size), v.shape));
          o += v.size;
        }
        // Exactly the trainer's arithmetic, so that every replica stays bit-identical.
        train!.update(grads, msg.lr, msg.scale);
        tf.dispose(grads);
      }
      send({ type: 'updated', id: msg.id });
      return;
    }
    case 'checksum': {
      const sum = weightChecksum(replica!.variables.map((v) => v.dataSync() as Float32Array));
      send({ type: 'checksum', id: msg.id, sum, numTensors: tf.memory().numTensors });
      return;
    }
  }
}

serveMessages<ToWorker>(port, handle);
