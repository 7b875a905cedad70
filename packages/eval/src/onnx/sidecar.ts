import { promises as fs } from 'node:fs';
import { FarmerError, formatZodIssues } from '@farmer/core';
import { z } from 'zod';

/**
 * The JSON sidecar that sits next to an ONNX feature extractor and says how
 * to feed it. Example (pytorch-fid's InceptionV3 pool3, exported with
 * `normalize_input=False`):
 *
 * ```json
 * { "id": "pt_inception-2015-12-05/pool3", "input": "images", "output": "pool3",
 *   "inputSize": [299, 299], "layout": "NCHW", "channels": 3,
 *   "range": [-1, 1], "batchSize": 50 }
 * ```
 */
export const OnnxExtractorSidecarSchema = z
  .strictObject({
    /** Name in the extractor identity; defaults to the model's file name. */
    id: z.string().min(1).optional(),
    /** Name of the model's image input. */
    input: z.string().min(1),
    /** Name of the output to use as features (or logits/probabilities for IS). */
    output: z.string().min(1),
    /** [H, W] the images are resized to (bilinear, half-pixel centres). */
    inputSize: z.tuple([z.int().positive(), z.int().positive()]),
    /** Memory layout of the input tensor. */
    layout: z.enum(['NCHW', 'NHWC']),
    /** Channels the model takes; grayscale images are replicated to 3. */
    channels: z.literal([1, 3]),
    /** Pixel values 0…255 map linearly onto [range[0], range[1]]. Default [0, 1]. */
    range: z.tuple([z.number(), z.number()]).default([0, 1]),
    /** Per-channel mean subtracted after `range` (e.g. ImageNet [0.485, 0.456, 0.406]). */
    mean: z.array(z.number()).optional(),
    /** Per-channel std divided by after `mean`. */
    std: z.array(z.number().positive()).optional(),
    /** Images per onnxruntime call. Default 32. A model with a fixed batch dimension overrides it. */
    batchSize: z.int().positive().default(32),
  })
  .superRefine((s, ctx) => {
    for (const key of ['mean', 'std'] as const) {
      const v = s[key];
      if (v && v.length !== s.channels) ctx.addIssue({ code: 'custom', path: [key], message: `needs ${s.channels} values (one per channel), got ${v.length}` });
    }
    if (s.range[0] === s.range[1]) ctx.addIssue({ code: 'custom', path: ['range'], message: 'range must not be empty' });
  });

/** A validated sidecar, defaults applied. */
export type OnnxExtractorSpec = z.output<typeof OnnxExtractorSidecarSchema>;

/** The sidecar path for a model: the same path with `.onnx` replaced by `.json`. */
export function defaultSidecarPath(modelPath: string): string {
  return modelPath.toLowerCase().endsWith('.onnx') ? `${modelPath.slice(0, -5)}.json` : `${modelPath}.json`;
}

/** Validates a parsed sidecar object. `file` names it in errors. */
export function parseOnnxExtractorSidecar(json: unknown, file = 'sidecar'): OnnxExtractorSpec {
  const r = OnnxExtractorSidecarSchema.safeParse(json);
  if (!r.success) {
    throw new FarmerError('FARMER_E_BAD_CONFIG', `ONNX extractor sidecar ${file} is invalid: ${formatZodIssues(r.error)}`, { file, issues: r.error.issues });
  }
  return r.data;
}

/** Reads and validates the sidecar at `path`. */
export async function loadOnnxExtractorSidecar(path: string): Promise<OnnxExtractorSpec> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FarmerError(
        'FARMER_E_NOT_FOUND',
        `ONNX extractor sidecar ${path} does not exist. Create it next to the model, declaring ` +
          '{ "input", "output", "inputSize": [H, W], "layout": "NCHW"|"NHWC", "channels": 1|3, "range", "mean", "std", "batchSize" } ' +
          '(see the @farmer/eval README, "ONNX feature extractors")',
        { file: path },
      );
    }
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FarmerError('FARMER_E_BAD_CONFIG', `ONNX extractor sidecar ${path} is not valid JSON: ${(e as Error).message}`, { file: path });
  }
  return parseOnnxExtractorSidecar(json, path);
}
