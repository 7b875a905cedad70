import { validate } from '@farmer/core/browser';
import { flowDims, FlowConfigSchema, type FlowConfig } from '@farmer/flow/browser';
import { z } from 'zod';

/** One channel of a background colour: an integer 0..255. */
const RGB_LEVEL = z.number().int().min(0).max(255);

/** The AR-GMM backbone (docs/method.md §4 AR-GMM). */
export const ArConfigSchema = z
  .object({
    /** Transformer width D. */
    width: z.number().int().positive(),
    /** Transformer layers. */
    layers: z.number().int().positive(),
    /** Attention head dim (heads = D / headDim). */
    headDim: z.number().int().positive().default(64),
    /** M: how many times the class embedding is repeated as a prefix (paper: 64). */
    prefixLength: z.number().int().positive().default(4),
    /** d_I: informative channels per token (the first d_I of each latent token). */
    informativeDim: z.number().int().positive(),
    /** K_I: mixture components of the informative head. */
    componentsInformative: z.number().int().positive(),
    /** K_R: mixture components of the shared redundant head (unused when d_I = d). */
    componentsRedundant: z.number().int().positive().default(1),
    /** σ = softplus(u) + sigmaMin: bounded below, linear above. */
    sigmaMin: z.number().positive().default(1e-3),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.width % c.headDim) ctx.addIssue({ code: 'custom', path: ['headDim'], message: `width ${c.width} must be a multiple of headDim ${c.headDim}` });
  });
/** The AR-GMM part of a model config, as validated by {@link ArConfigSchema}. */
export type ArConfig = z.infer<typeof ArConfigSchema>;

/** Every {@link FinalPermute}. */
export const FINAL_PERMUTES = ['alternate', 'identity', 'flip'] as const;
/** How the AF's output tokens are ordered for the AR (docs/method.md §4.2 final permute). */
export type FinalPermute = (typeof FINAL_PERMUTES)[number];

/**
 * A FARMER model: AF + AR-GMM. The AF is unconditional (FARMER's default);
 * class conditioning enters through the AR's class table of numClasses + 1
 * rows (the last is the null label used for CFG and unconditional models).
 */
export const FarmerConfigSchema = z
  .object({
    flow: FlowConfigSchema,
    ar: ArConfigSchema,
    /** Classes of the AR class table; 0 = unconditional. */
    numClasses: z.number().int().nonnegative(),
    /**
     * Token order the AR sees (docs/method.md §4.2 final permute): 'alternate'
     * permutes as if the AR were AF block n (flip when n is odd), 'identity' or
     * 'flip' force one.
     */
    finalPermute: z.enum(FINAL_PERMUTES).default('alternate'),
    /**
     * Optional names of the numClasses classes, in label order (for grids,
     * pickers and reports). Absent in checkpoints from before they existed;
     * they do not change the architecture.
     */
    classNames: z.array(z.string().min(1).max(64)).optional(),
    /**
     * The colour transparent pixels of the training images were composited
     * on, RGB 0..255 (docs/method.md §2.6 Transparency); every image that
     * becomes this model's input is composited on it. Absent = black (read it
     * with `modelBackground`): checkpoints from before backgrounds existed,
     * and models of data without alpha, keep their meaning and their bytes.
     */
    background: z.tuple([RGB_LEVEL, RGB_LEVEL, RGB_LEVEL]).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.classNames && c.classNames.length !== c.numClasses) {
      ctx.addIssue({ code: 'custom', path: ['classNames'], message: `${c.classNames.length} class names for numClasses ${c.numClasses}; give one name per class` });
    }
    let d: number | undefined;
    try {
      d = flowDims(c.flow).tokenDim;
    } catch {
      return;
    }
    if (c.ar.informativeDim > d) {
      ctx.addIssue({ code: 'custom', path: ['ar', 'informativeDim'], message: `informativeDim ${c.ar.informativeDim} exceeds the ${d} dims of a token (C·p² = ${c.flow.inChannels}·${c.flow.patchSize}²)` });
    }
  });
/** A whole, validated model config: the AF (`flow`), the AR-GMM (`ar`) and the final permute, defaults filled in. */
export type FarmerConfig = z.infer<typeof FarmerConfigSchema>;
/** A model config as written by hand or read from JSON, before defaults: what {@link parseFarmerConfig} accepts. */
export type FarmerConfigInput = z.input<typeof FarmerConfigSchema>;

/** Validates a model config (defaults filled in); FARMER_E_BAD_CONFIG names each failing field, prefixed with `source`. */
export function parseFarmerConfig(input: unknown, source = 'model config'): FarmerConfig {
  return validate(input, source, FarmerConfigSchema, 'FARMER_E_BAD_CONFIG');
}

/** The name of class `y` of a model: its config's class name, else the label number. */
export function className(c: Pick<FarmerConfig, 'classNames'>, y: number): string {
  return c.classNames?.[y] ?? String(y);
}

/** Derived sizes of a FARMER config. */
export interface FarmerDims {
  /** N tokens. */
  numTokens: number;
  /** d dims per token. */
  tokenDim: number;
  /** d_I informative dims. */
  dI: number;
  /** d_R = d − d_I redundant dims (0: no redundant head). */
  dR: number;
  /** Width of the informative head: K_I·(1 + 2·d_I). */
  headInformative: number;
  /** Width of the redundant head: K_R·(1 + 2·d_R), or 0. */
  headRedundant: number;
  /** AR sequence length M + N. */
  seqLen: number;
}

/** The sizes a config implies (tokens N, token dim d, the informative and redundant dims, head widths, the AR sequence length M + N). */
export function farmerDims(c: FarmerConfig): FarmerDims {
  const { numTokens, tokenDim } = flowDims(c.flow as FlowConfig);
  const dI = c.ar.informativeDim;
  const dR = tokenDim - dI;
  return {
    numTokens,
    tokenDim,
    dI,
    dR,
    headInformative: c.ar.componentsInformative * (1 + 2 * dI),
    headRedundant: dR > 0 ? c.ar.componentsRedundant * (1 + 2 * dR) : 0,
    seqLen: c.ar.prefixLength + numTokens,
  };
}
