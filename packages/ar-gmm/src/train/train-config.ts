import { validate } from '@farmer/core';
import { z } from 'zod';

/** Training settings, validated at the edge (CLI flags, config files, checkpoints). */
export const TrainConfigSchema = z
  .object({
    /** Optimizer steps in the run (the cosine schedule spans these). */
    steps: z.number().int().positive(),
    batchSize: z.number().int().positive().default(64),
    /** Peak learning rate. */
    lr: z.number().positive().default(1e-3),
    /** Final learning rate of the cosine schedule. */
    minLr: z.number().nonnegative().default(1e-5),
    warmupSteps: z.number().int().nonnegative().default(100),
    /** AdamW, method doc §4: β (0.9, 0.95), weight decay 0.03. */
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.95),
    eps: z.number().positive().default(1e-8),
    weightDecay: z.number().nonnegative().default(0.03),
    /** Clip the global gradient norm to this; null disables. */
    gradClip: z.number().positive().nullable().default(1),
    /** EMA decay of the weights; null disables. */
    ema: z.number().min(0).max(1).nullable().default(0.999),
    /** Training noise (method doc §1): Gaussian σ cosine-decayed, or uniform dequantisation. */
    noise: z
      .discriminatedUnion('mode', [
        z.object({ mode: z.literal('gaussian'), sigmaStart: z.number().nonnegative().default(0.1), sigmaEnd: z.number().nonnegative().default(0.005) }),
        z.object({ mode: z.literal('uniform') }),
      ])
      .default({ mode: 'uniform' }),
    /** Probability that a label is replaced by the null label (for CFG). */
    labelDrop: z.number().min(0).max(1).default(0.1),
    seed: z.number().int().nonnegative().default(0),
    /** Write a checkpoint every N steps (0 = only at the end and on signals). */
    checkpointEvery: z.number().int().nonnegative().default(500),
    /** Evaluate test bits/dim every N steps (0 = only at the end). */
    evalEvery: z.number().int().nonnegative().default(500),
    /** Test images per evaluation (0 = the whole test split). */
    evalImages: z.number().int().nonnegative().default(0),
    /** Stop after this many non-finite steps in a row. */
    maxNonFinite: z.number().int().positive().default(20),
    /** Stop after this many seconds of training (0 = no limit); the schedule still spans `steps`. */
    timeBudgetSeconds: z.number().nonnegative().default(0),
  })
  .strict();
export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

export function parseTrainConfig(input: unknown, source = 'training config'): TrainConfig {
  return validate(input, source, TrainConfigSchema, 'FARMER_E_BAD_CONFIG');
}
