import type { FarmerConfig, FarmerFigures, PreparedBatch } from '@farmer/ar-gmm';
import type { FlowConfig } from '@farmer/flow';
import type { HostGradient } from '@farmer/train';
import { OrtDistillGradient, type DistillGradientBatch } from './ort-distill-gradient.js';
import { OrtGradient } from './ort-gradient.js';

/**
 * What an onnxruntime training replica is built from: plain data, so a
 * worker thread can receive it (structured clone) and build its own
 * sessions. A distillation replica carries the frozen teacher's weights.
 */
export type OrtReplicaSpec =
  | { kind: 'farmer'; config: FarmerConfig; threads: number }
  | { kind: 'distill'; flow: FlowConfig; threads: number; teacher: Float32Array[] };

/** FARMER's loss and gradients on onnxruntime, as a host gradient (the `OrtGradient` session it wraps is exposed for the parameter-order check). */
export async function farmerOrtGradient(config: FarmerConfig, threads: number): Promise<HostGradient<PreparedBatch, FarmerFigures> & { session: OrtGradient }> {
  const g = await OrtGradient.create(config, { threads });
  return {
    name: 'ort',
    threads: g.threads,
    session: g,
    gradient: async (weights, b) => {
      const r = await g.run(weights, b.values, b.shape, b.labels);
      return { loss: r.loss, figures: { logdetPerDim: r.logdetPerDim }, grads: r.grads };
    },
    dispose: () => g.dispose(),
  };
}

/** The distillation loss and the student's gradients on onnxruntime, with the frozen teacher's weights fed unchanged every step. */
export async function distillOrtGradient(flow: FlowConfig, threads: number, teacher: readonly Float32Array[]): Promise<HostGradient<DistillGradientBatch, { blockMse: number[] }>> {
  const g = await OrtDistillGradient.create(flow, { threads });
  return {
    name: 'ort',
    threads: g.threads,
    gradient: async (weights, b) => {
      const r = await g.run(weights, teacher, b);
      return { loss: r.loss, figures: { blockMse: r.blockMse }, grads: r.grads };
    },
    dispose: () => g.dispose(),
  };
}

/** Builds one replica's host gradient from its spec (this thread's, or a worker thread's through ort-replica.ts). */
export function ortHostGradient(spec: OrtReplicaSpec): Promise<HostGradient<never, FarmerFigures | { blockMse: number[] }>> {
  return spec.kind === 'farmer' ? farmerOrtGradient(spec.config, spec.threads) : distillOrtGradient(spec.flow, spec.threads, spec.teacher);
}
