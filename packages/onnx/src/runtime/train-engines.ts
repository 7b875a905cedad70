import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FarmerError } from '@farmer/core';
import { shardBatch, type FarmerEngine, type FarmerModel } from '@farmer/ar-gmm';
import { hostEngine, paramSizes, ParallelHostGradient, type EngineFactory, type HostGradient, type ParamSpec, type Sharding } from '@farmer/train';
import type { Figures } from '@farmer/train';
import { shardDistillBatch, type DistillGradientBatch } from './ort-distill-gradient.js';
import { distillOrtGradient, farmerOrtGradient, type OrtReplicaSpec } from './ort-host-gradients.js';

/** Options of {@link farmerOrtEngine} and {@link distillOrtEngine}: the layout of replicas and threads. */
export interface OrtTrainOptions {
  /** Data-parallel replicas: this thread plus `workers − 1` worker threads, each with its own session (default 1). */
  workers?: number;
  /** onnxruntime intra-op threads of each replica's session (default: the available cores ÷ workers, at least 1). */
  threads?: number;
  /** Test hook: make worker thread `worker` (1-based) throw on its `step`-th gradient. */
  failAt?: { worker: number; step: number };
}

/** The built replica module (dist/ort-replica.{js,cjs}), as a file URL a worker thread can import. */
function replicaModule(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'ort-replica.js'), join(here, 'ort-replica.cjs'), join(here, '..', '..', 'dist', 'ort-replica.js')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new FarmerError('FARMER_E_INTERNAL', `cannot find the onnxruntime replica module (looked in ${candidates.join(', ')}); build @farmer/onnx first`);
  return pathToFileURL(found).href;
}

/** This thread's gradient, or (workers > 1) the data-parallel gradient over it and `workers − 1` replicas built from `spec`. */
async function replicated<TBatch, TFigures extends Figures>(
  local: HostGradient<TBatch, TFigures>,
  params: ParamSpec[],
  spec: OrtReplicaSpec,
  sharding: Sharding<TBatch>,
  o: OrtTrainOptions,
): Promise<HostGradient<TBatch, TFigures>> {
  const workers = o.workers ?? 1;
  if (workers === 1 && !o.failAt) return local;
  try {
    return await ParallelHostGradient.start(local, paramSizes(params), { replicas: workers, sharding, replica: { module: replicaModule(), spec }, failAt: o.failAt });
  } catch (e) {
    await local.dispose();
    throw e;
  }
}

/** Threads per replica: as asked, else the cores shared out among the replicas. */
export function threadsPerReplica(o: OrtTrainOptions, cores = availableParallelism()): number {
  return o.threads ?? Math.max(1, Math.floor(cores / (o.workers ?? 1)));
}

/**
 * FARMER training on onnxruntime-node: each replica's step is one session
 * run that returns the joint NLL and the gradient of every parameter (the
 * training graph of `buildFarmerGradientGraph`); with `workers` > 1 the
 * batch is split across data-parallel replicas
 * (docs/method.md §6.7 Data parallelism). AdamW, the EMA and clipping are the host engine's fused
 * loops over Float32Arrays (@farmer/train). Checkpoints are the same as
 * the tfjs engine's.
 */
export function farmerOrtEngine(o: OrtTrainOptions = {}): FarmerEngine {
  return (model) =>
    hostEngine(async (ctx) => {
      const threads = threadsPerReplica(o);
      const local = await farmerOrtGradient(model.config, threads);
      const g = local.session;
      if (g.params.some((p, i) => p.name !== ctx.params[i]?.name) || g.params.length !== ctx.params.length) {
        await local.dispose();
        throw new FarmerError('FARMER_E_INTERNAL', 'the training graph takes its parameters in another order than the model');
      }
      const spec: OrtReplicaSpec = { kind: 'farmer', config: model.config, threads };
      return replicated(local, ctx.params, spec, { size: (b) => b.shape[0], shard: shardBatch }, o);
    });
}

/**
 * A distillation engine over a frozen teacher (the student is the
 * objective's; its weights come through the seam). Structurally a
 * @farmer/distill `DistillEngine`, without this package depending on it.
 */
export type OrtDistillEngine = (teacher: FarmerModel, student: unknown) => EngineFactory<DistillGradientBatch, { blockMse: number[] }>;

/**
 * Distillation on onnxruntime-node: the frozen teacher's forward, the
 * student chain, the block errors and every student gradient in one session
 * run per replica; the teacher's weights are read once and fed unchanged
 * every step (each worker replica gets its own copy when it starts).
 */
export function distillOrtEngine(o: OrtTrainOptions = {}): OrtDistillEngine {
  return (teacher) =>
    hostEngine(async (ctx) => {
      const threads = threadsPerReplica(o);
      const teacherValues = teacher.flow.params.values();
      const local = await distillOrtGradient(teacher.config.flow, threads, teacherValues);
      const spec: OrtReplicaSpec = { kind: 'distill', flow: teacher.config.flow, threads, teacher: teacherValues };
      return replicated(local, ctx.params, spec, { size: (b) => b.shape[0], shard: shardDistillBatch }, o);
    });
}
