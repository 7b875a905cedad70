import { validate } from '@farmer/core';
import { loopConfigFields } from '@farmer/train';
import { z } from 'zod';

/**
 * Distillation settings (docs/method.md §8.3 distillation settings). The optimisation fields are the
 * shared training loop's (@farmer/train: same names and meaning); the
 * defaults that differ are noted.
 */
export const DistillConfigSchema = z
  .object({
    ...loopConfigFields,
    /** Peak learning rate (lower than training's: the student starts from the teacher's weights). */
    lr: z.number().positive().default(2e-4),
    /** AdamW weight decay; 0 by default, since decay would pull the student away from its teacher initialisation for no likelihood reason. */
    weightDecay: z.number().nonnegative().default(0),
    /** EMA of the student's weights; off by default (a regression target needs no smoothing to be useful). */
    ema: z.number().min(0).max(1).nullable().default(null),
    /** s_max: the final latent is perturbed as Z̃^n = Z^n + s·ε, s ~ U[0, s_max] (paper: 0.3). */
    sMax: z.number().nonnegative().default(0.3),
    /** One s per sample (default: every batch spans the range of noise levels) or one per batch (Algorithm 2 read literally). */
    noiseScale: z.enum(['per-sample', 'per-batch']).default('per-sample'),
    /**
     * Student initialisation: 'teacher' copies every teacher weight (the paper); 'teacher-identity'
     * copies them but zeroes proj_out, so the student starts as the identity map (always finite).
     * With a trained teacher, 'teacher' can start with huge errors (the copied α' sees latents
     * instead of data, one token off); clipping usually recovers within tens of steps.
     */
    init: z.enum(['teacher', 'teacher-identity']).default('teacher'),
    /** The data the teacher encodes: uniformly dequantised pixels (as the teacher was trained; default) or clean ones. */
    dataNoise: z.enum(['uniform', 'none']).default('uniform'),
    /** Held-out images per evaluation (0 = the whole test split). */
    evalImages: z.number().int().nonnegative().default(256),
  })
  .strict();
/** A validated distillation config: the loop settings of @farmer/train plus the student's init, noise scale and data noise (docs/method.md §8.3 distillation settings). */
export type DistillConfig = z.infer<typeof DistillConfigSchema>;
/** A distillation config before defaults: what {@link parseDistillConfig} accepts. */
export type DistillConfigInput = z.input<typeof DistillConfigSchema>;

/** Validates a distillation config (defaults filled in); FARMER_E_BAD_CONFIG names each failing field, prefixed with `source`. */
export function parseDistillConfig(input: unknown, source = 'distillation config'): DistillConfig {
  return validate(input, source, DistillConfigSchema, 'FARMER_E_BAD_CONFIG');
}
