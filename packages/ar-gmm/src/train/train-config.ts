import { validate } from '@farmer/core';
import { loopConfigFields } from '@farmer/train';
import { z } from 'zod';

/** FARMER training settings (the shared loop's, plus noise and label drop), validated at the edge: CLI flags, config files, checkpoints. */
export const TrainConfigSchema = z
  .object({
    ...loopConfigFields,
    /** Training noise: Gaussian σ cosine-decayed (docs/method.md §2.3 Gaussian noise schedule) or uniform dequantisation (docs/method.md §2.2 uniform dequantisation). */
    noise: z
      .discriminatedUnion('mode', [
        z.object({ mode: z.literal('gaussian'), sigmaStart: z.number().nonnegative().default(0.1), sigmaEnd: z.number().nonnegative().default(0.005) }),
        z.object({ mode: z.literal('uniform') }),
      ])
      .default({ mode: 'uniform' }),
    /** Probability that a label is replaced by the null label (for CFG). */
    labelDrop: z.number().min(0).max(1).default(0.1),
    /** Mirror each training image left–right with probability ½ (augmentation; off by default, as digits are not symmetric). */
    hflip: z.boolean().default(false),
  })
  .strict();
/** A validated training config: the loop settings of @farmer/train plus noise and label drop (docs/method.md §6 training). */
export type TrainConfig = z.infer<typeof TrainConfigSchema>;
/** A training config before defaults: what {@link parseTrainConfig} accepts. */
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** Validates a training config (defaults filled in); FARMER_E_BAD_CONFIG names each failing field, prefixed with `source`. */
export function parseTrainConfig(input: unknown, source = 'training config'): TrainConfig {
  return validate(input, source, TrainConfigSchema, 'FARMER_E_BAD_CONFIG');
}
