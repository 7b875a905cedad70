/**
 * A host-gradient replica worker thread: it builds one HostGradient (an
 * onnxruntime gradient session, say) from the module the trainer names, so
 * this package imports no engine package, and answers gradient requests on
 * its shard. It holds no optimizer state: the trainer sends the current
 * weights with every request (they are graph inputs anyway). Started by
 * parallel-host-gradient.ts.
 */
import { parentPort } from 'node:worker_threads';
import { serveMessages } from './worker-loop.js';
import type { HostGradient } from './host-engine.js';
import type { HostReplicaModule } from './parallel-host-gradient.js';
import type { FromHostWorker, ToHostWorker } from './host-worker-protocol.js';
import type { Figures } from './objective.js';
import { flatten, unflatten } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('host-replica-worker must run as a worker thread');

let replica: HostGradient<unknown, Figures> | undefined;
let sizes: number[] = [];
let requests = 0;
let failAt: number | undefined;

const send = (m: FromHostWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function handle(msg: ToHostWorker): Promise<void> {
  switch (msg.type) {
    case 'init': {
      const mod = (await import(msg.replica.module)) as HostReplicaModule;
      replica = await mod.createHostReplica(msg.replica.spec);
      sizes = msg.sizes;
      failAt = msg.failAtStep;
      send({ type: 'ready', name: replica.name, threads: replica.threads });
      return;
    }
    case 'gradient': {
      const arrived = performance.timeOrigin + performance.now();
      requests++;
      if (failAt !== undefined && requests === failAt) throw new Error(`injected failure at step ${requests} (failAtStep test hook)`);
      const t0 = performance.now();
      const r = await replica!.gradient(unflatten(msg.weights, sizes), msg.batch);
      const ms = performance.now() - t0;
      const flat = flatten(r.grads);
      const at: [number, number] = [arrived, performance.timeOrigin + performance.now()];
      send({ type: 'grads', id: msg.id, loss: r.loss, figures: r.figures, grads: flat, ms, at }, [flat.buffer as ArrayBuffer]);
      return;
    }
    case 'dispose': {
      await replica?.dispose();
      replica = undefined;
      send({ type: 'disposed' });
      return;
    }
  }
}

serveMessages<ToHostWorker>(port, handle);
