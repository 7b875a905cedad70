import { tokenShape, validate } from '@farmer/core/browser';
import { z } from 'zod';

/**
 * An AF's hyper-parameters (docs/method.md §3 autoregressive flow). Names
 * follow the TARFlow reference where one exists, in camelCase.
 */
export const FlowConfigSchema = z
  .object({
    /** Image channels C. */
    inChannels: z.number().int().positive(),
    /** Square image side. */
    imageSize: z.number().int().positive(),
    /** Patch side p; tokens are p×p×C. */
    patchSize: z.number().int().positive(),
    /** Transformer width W. */
    width: z.number().int().positive(),
    /** Number of AF blocks n. */
    numBlocks: z.number().int().positive(),
    /** Transformer layers per block L. */
    layersPerBlock: z.number().int().positive(),
    /** Attention head dim hd (heads = W / hd). */
    headDim: z.number().int().positive().default(64),
    /** Classes for conditioning; 0 = unconditional (FARMER's AF default). */
    numClasses: z.number().int().nonnegative().default(0),
    /** Affine (true) or volume-preserving (false: α = 0, proj_out W→d). */
    nvp: z.boolean().default(true),
    /** Optional soft bound on α: α ← c·tanh(α/c). null = none (PyTorch parity). */
    alphaClamp: z.number().positive().nullable().default(null),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.width % c.headDim !== 0) {
      ctx.addIssue({ code: 'custom', path: ['headDim'], message: `width ${c.width} must be a multiple of headDim ${c.headDim}` });
    }
    if (c.imageSize % c.patchSize !== 0) {
      ctx.addIssue({ code: 'custom', path: ['patchSize'], message: `imageSize ${c.imageSize} must be a multiple of patchSize ${c.patchSize}` });
    }
  });

export type FlowConfig = z.infer<typeof FlowConfigSchema>;
export type FlowConfigInput = z.input<typeof FlowConfigSchema>;

/** Validates a flow config; errors name each bad field. */
export function parseFlowConfig(input: unknown, source = 'flow config'): FlowConfig {
  return validate(input, source, FlowConfigSchema, 'FARMER_E_BAD_CONFIG');
}

/** Derived sizes: N tokens, d dims per token, heads. */
export function flowDims(c: FlowConfig): { numTokens: number; tokenDim: number; heads: number } {
  const { numTokens, tokenDim } = tokenShape({ channels: c.inChannels, height: c.imageSize, width: c.imageSize, patchSize: c.patchSize });
  return { numTokens, tokenDim, heads: c.width / c.headDim };
}
