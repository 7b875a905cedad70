import { FarmerError } from '@farmer/core';
import type { FarmerEngine, FarmerModel } from '@farmer/ar-gmm';
import { hostEngine, type EngineFactory } from '@farmer/train';
import { OrtDistillGradient, type DistillGradientBatch } from './ort-distill-gradient.js';
import { OrtGradient } from './ort-gradient.js';

/** Options of {@link farmerOrtEngine} and {@link distillOrtEngine}. */
export interface OrtTrainOptions {
  /** onnxruntime intra-op threads (default: the machine's available cores). */
  threads?: number;
}

/**
 * FARMER training on onnxruntime-node: each step is one session run that
 * returns the joint NLL and the gradient of every parameter (the training
 * graph of `buildFarmerGradientGraph`); AdamW, the EMA and clipping are the
 * host engine's fused loops over Float32Arrays (@farmer/train). Checkpoints
 * are the same as the tfjs engine's.
 */
export function farmerOrtEngine(o: OrtTrainOptions = {}): FarmerEngine {
  return (model) =>
    hostEngine(async (ctx) => {
      const g = await OrtGradient.create(model.config, { threads: o.threads });
      if (g.params.some((p, i) => p.name !== ctx.params[i]?.name) || g.params.length !== ctx.params.length) {
        await g.dispose();
        throw new FarmerError('FARMER_E_INTERNAL', 'the training graph takes its parameters in another order than the model');
      }
      return {
        name: 'ort',
        threads: g.threads,
        gradient: async (weights, b) => {
          const r = await g.run(weights, b.values, b.shape, b.labels);
          return { loss: r.loss, figures: { logdetPerDim: r.logdetPerDim }, grads: r.grads };
        },
        dispose: () => g.dispose(),
      };
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
 * run; the teacher's weights are read once and fed unchanged every step.
 */
export function distillOrtEngine(o: OrtTrainOptions = {}): OrtDistillEngine {
  return (teacher) =>
    hostEngine(async () => {
      const g = await OrtDistillGradient.create(teacher.config.flow, { threads: o.threads });
      const teacherValues = teacher.flow.params.values();
      return {
        name: 'ort',
        threads: g.threads,
        gradient: async (weights, b) => {
          const r = await g.run(weights, teacherValues, b);
          return { loss: r.loss, figures: { blockMse: r.blockMse }, grads: r.grads };
        },
        dispose: () => g.dispose(),
      };
    });
}
