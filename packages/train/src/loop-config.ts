import { z } from 'zod';

/**
 * The optimisation settings every objective shares, as zod fields with
 * their defaults (FARMER's recipe, docs/method.md §6 training). An
 * objective builds its schema as `z.object({ ...loopConfigFields, ...its own })`
 * and may override a default by redefining a field.
 */
export const loopConfigFields = {
  /** Optimizer steps in the run (the cosine schedule spans these). */
  steps: z.number().int().positive(),
  batchSize: z.number().int().positive().default(64),
  /** Peak learning rate. */
  lr: z.number().positive().default(1e-3),
  /** Final learning rate of the cosine schedule. */
  minLr: z.number().nonnegative().default(1e-5),
  warmupSteps: z.number().int().nonnegative().default(100),
  /** AdamW: β (0.9, 0.95), weight decay 0.03. */
  beta1: z.number().min(0).max(1).default(0.9),
  beta2: z.number().min(0).max(1).default(0.95),
  eps: z.number().positive().default(1e-8),
  weightDecay: z.number().nonnegative().default(0.03),
  /** Clip the global gradient norm to this; null disables. */
  gradClip: z.number().positive().nullable().default(1),
  /** EMA decay of the weights; null disables. */
  ema: z.number().min(0).max(1).nullable().default(0.999),
  seed: z.number().int().nonnegative().default(0),
  /** Write a checkpoint every N steps (0 = only at the end and on signals). */
  checkpointEvery: z.number().int().nonnegative().default(500),
  /** Evaluate every N steps (0 = only at the end). */
  evalEvery: z.number().int().nonnegative().default(500),
  /** Held-out images per evaluation (0 = the whole test split). */
  evalImages: z.number().int().nonnegative().default(0),
  /** Stop after this many non-finite steps in a row. */
  maxNonFinite: z.number().int().positive().default(20),
  /** Stop after this many seconds of training (0 = no limit); the schedule still spans `steps`. */
  timeBudgetSeconds: z.number().nonnegative().default(0),
};

/** The settings the loop itself reads. */
export type LoopSettings = z.infer<z.ZodObject<typeof loopConfigFields>>;
