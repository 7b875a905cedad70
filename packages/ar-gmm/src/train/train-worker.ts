/**
 * A training worker thread: its own tfjs backend and a full FARMER replica.
 * It computes the loss and gradients on its shard and applies the same AdamW
 * update as every other replica. Started by worker-engine.ts.
 */
import { parentPort } from 'node:worker_threads';
import { initBackend, tf } from '@farmer/core';
import { FarmerModel } from '../farmer-model.js';
import { AdamW } from './adamw.js';
import { lossAndGrads } from './loss.js';
import { flatten, weightChecksum, type FromWorker, type ToWorker } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('train-worker must run as a worker thread');

let model: FarmerModel | undefined;
let opt: AdamW | undefined;
let computes = 0;
let failAt: number | undefined;

const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init': {
      await initBackend({ backend: msg.backend });
      model = FarmerModel.fromValues(msg.config, msg.weights);
      opt = new AdamW(model.variableNames(), model.variables(), msg.adamw);
      opt.loadState(msg.m, msg.v, msg.t);
      failAt = msg.failAtStep;
      send({ type: 'ready' });
      return;
    }
    case 'compute': {
      computes++;
      if (failAt !== undefined && computes === failAt) throw new Error(`injected failure at step ${computes} (failAtStep test hook)`);
      const r = lossAndGrads(model!, { values: msg.values, shape: msg.shape, labels: msg.labels, sigma: 0 });
      const flat = flatten(r.grads.map((g) => g.dataSync() as Float32Array));
      tf.dispose(r.grads);
      send({ type: 'grads', id: msg.id, loss: r.loss, logdetPerDim: r.logdetPerDim, grads: flat }, [flat.buffer as ArrayBuffer]);
      return;
    }
    case 'update': {
      if (msg.grads) {
        const vars = model!.variables();
        const grads: tf.Tensor[] = [];
        let o = 0;
        for (const v of vars) {
          grads.push(tf.tensor(msg.grads.subarray(o, o + v.size), v.shape));
          o += v.size;
        }
        // Exactly the trainer's arithmetic, so that every replica stays bit-identical.
        const scaled = msg.scale === 1 ? grads : grads.map((g) => tf.mul(g, msg.scale));
        opt!.apply(scaled, msg.lr);
        tf.dispose(grads);
        if (scaled !== grads) tf.dispose(scaled);
      }
      send({ type: 'updated', id: msg.id });
      return;
    }
    case 'checksum': {
      const sum = weightChecksum(model!.variables().map((v) => v.dataSync() as Float32Array));
      send({ type: 'checksum', id: msg.id, sum, numTensors: tf.memory().numTensors });
      return;
    }
  }
}

let queue = Promise.resolve();
port.on('message', (msg: ToWorker) => {
  queue = queue.then(() => handle(msg)).catch((e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    send({ type: 'error', message: err.message, stack: err.stack });
    setTimeout(() => process.exit(1), 10);
  });
});
