import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FarmerError } from '@farmer/core';
import { workerEngine, type EngineFactory, type TfBinding } from '@farmer/train';
import type { FarmerModel } from '../farmer-model.js';
import { shardBatch, type PreparedBatch } from './batch-prep.js';
import { lossAndGrads } from './loss.js';

/** FARMER's per-step figures besides the loss. */
export type FarmerFigures = { logdetPerDim: number };

/** How a Trainer computes: given its model, an engine factory (tfjs here; @farmer/onnx adds onnxruntime). */
export type FarmerEngine = (model: FarmerModel) => EngineFactory<PreparedBatch, FarmerFigures>;

/** FARMER's loss on tfjs: the model's variables and the gradient of the mean joint NLL per dim. */
export function farmerTfBinding(model: FarmerModel): TfBinding<PreparedBatch, FarmerFigures> {
  return {
    variables: model.variables(),
    lossAndGrads: (b) => {
      const r = lossAndGrads(model, b);
      return { loss: r.loss, figures: { logdetPerDim: r.logdetPerDim }, grads: r.grads };
    },
  };
}

/** The built replica module next to this one (dist/farmer-replica.{js,cjs}), as a file URL a worker can import. */
function replicaModule(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'farmer-replica.js'), join(here, 'farmer-replica.cjs'), join(here, '..', '..', 'dist', 'farmer-replica.js')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new FarmerError('FARMER_E_INTERNAL', `cannot find FARMER's replica module (looked in ${candidates.join(', ')}); build @farmer/ar-gmm first`);
  return pathToFileURL(found).href;
}

/** Options of {@link farmerTfEngine}. */
export interface FarmerTfEngineOptions {
  /** Replicas: this thread plus `workers − 1` worker threads, each with its own backend (default 1). */
  workers?: number;
  /** Test hook: make worker thread `worker` (1-based) throw on its `step`-th compute. */
  failAt?: { worker: number; step: number };
  /** A worker silent for this long is declared hung (default: 10 min). */
  stepTimeoutMs?: number;
}

/**
 * FARMER on tfjs: tfjs autodiff, AdamW and EMA on the current backend, in
 * this thread or data-parallel across worker threads (same losses up to
 * the order in which shard gradients are summed).
 */
export function farmerTfEngine(opts: FarmerTfEngineOptions = {}): FarmerEngine {
  return (model) =>
    workerEngine(
      farmerTfBinding(model),
      { size: (b) => b.shape[0], shard: shardBatch, replica: () => ({ module: replicaModule(), spec: model.config }) },
      { workers: opts.workers ?? 1, failAt: opts.failAt, stepTimeoutMs: opts.stepTimeoutMs },
    );
}
