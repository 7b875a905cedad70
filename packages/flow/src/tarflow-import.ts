import { readFileSync } from 'node:fs';
import { decodeSafetensors, FarmerError, formatZodIssues, ParamStore, toFloat32, type HostTensor, type TensorMap } from '@farmer/core';
import { z } from 'zod';
import { parseFlowConfig, type FlowConfig } from './config.js';
import { Flow } from './flow.js';
import { saveFlowCheckpoint } from './flow-checkpoint.js';
import { flowParamShapes } from './params.js';

/** The hyper-parameters of a PyTorch TARFlow `Model`, with its names. */
export const TarflowHyperSchema = z
  .object({
    in_channels: z.number().int().positive(),
    img_size: z.number().int().positive(),
    patch_size: z.number().int().positive(),
    channels: z.number().int().positive(),
    num_blocks: z.number().int().positive(),
    layers_per_block: z.number().int().positive(),
    /** TARFlow's Model does not pass head_dim on, so its blocks always use 64. */
    head_dim: z.number().int().positive().default(64),
    num_classes: z.number().int().nonnegative().default(0),
    nvp: z.boolean().default(true),
  })
  .passthrough();
/** A PyTorch TARFlow model's hyper-parameters, with its names, as validated by {@link TarflowHyperSchema}. */
export type TarflowHyper = z.infer<typeof TarflowHyperSchema>;

/** The farmer flow config that matches a TARFlow model's hyper-parameters (docs/method.md §3.12 TARFlow compatibility). */
export function tarflowToFlowConfig(h: TarflowHyper): FlowConfig {
  return parseFlowConfig({
    inChannels: h.in_channels,
    imageSize: h.img_size,
    patchSize: h.patch_size,
    width: h.channels,
    numBlocks: h.num_blocks,
    layersPerBlock: h.layers_per_block,
    headDim: h.head_dim,
    numClasses: h.num_classes,
    nvp: h.nvp,
  });
}

/** A TARFlow state dict read into a {@link Flow}, with what was not turned into weights. */
export interface ImportedTarflow {
  flow: Flow;
  /** The prior's variance buffer `var` [N, d] when it is not all ones (TARFlow learns it for nvp=False). */
  priorVar?: Float32Array;
  /** Buffers read and deliberately not turned into weights. */
  skipped: string[];
}

/**
 * Reads a PyTorch TARFlow state dict (safetensors bytes) and its
 * hyper-parameters into a Flow. Buffers are handled explicitly: every
 * `blocks.{t}.attn_mask` must be the [N, N] lower-triangular mask and is
 * skipped; `var` is returned when it is not all ones. A `module.` prefix
 * (DataParallel) is stripped. Any other unknown tensor is an error.
 */
export function importTarflowStateDict(bytes: Uint8Array, hyper: unknown, source = 'TARFlow state dict'): ImportedTarflow {
  const parsed = TarflowHyperSchema.safeParse(hyper);
  if (!parsed.success) throw new FarmerError('FARMER_E_BAD_CONFIG', `TARFlow hyper-parameters are invalid: ${formatZodIssues(parsed.error)}`);
  const config = tarflowToFlowConfig(parsed.data);
  const raw = decodeSafetensors(bytes, source).tensors;
  // Names come from the file: Object.fromEntries keeps even '__proto__' an entry (refused below as unknown).
  const sd: TensorMap = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.startsWith('module.') ? k.slice(7) : k, v]));
  const shapes = flowParamShapes(config);
  const n = (config.imageSize / config.patchSize) ** 2;
  const d = config.inChannels * config.patchSize ** 2;
  const skipped: string[] = [];
  let priorVar: Float32Array | undefined;
  const kept: [string, HostTensor][] = [];
  for (const [name, t] of Object.entries(sd)) {
    if (/^blocks\.\d+\.attn_mask$/.test(name)) {
      checkMask(t.shape, toFloat32(t), n, name, source);
      skipped.push(name);
    } else if (name === 'var') {
      if (t.shape.length !== 2 || t.shape[0] !== n || t.shape[1] !== d) {
        throw new FarmerError('FARMER_E_SHAPE', `${source}: 'var' has shape [${t.shape}], expected [${n}, ${d}]`, { tensor: name });
      }
      const v = toFloat32(t);
      if (v.some((x) => x !== 1)) priorVar = Float32Array.from(v);
      skipped.push(name);
    } else {
      kept.push([name, t]);
    }
  }
  const weights: TensorMap = Object.fromEntries(kept);
  const store = new ParamStore(shapes);
  try {
    store.loadTensorMap(weights, source);
  } catch (e) {
    store.dispose();
    if (e instanceof FarmerError && e.code === 'FARMER_E_SHAPE') {
      throw new FarmerError('FARMER_E_SHAPE', `${e.message}. Check the hyper-parameters (${JSON.stringify(parsed.data)}) against the checkpoint.`, e.details);
    }
    throw e;
  }
  return { flow: new Flow(config, store), priorVar, skipped };
}

function checkMask(shape: number[], v: Float32Array, n: number, name: string, source: string): void {
  if (shape.length !== 2 || shape[0] !== n || shape[1] !== n) {
    throw new FarmerError('FARMER_E_SHAPE', `${source}: '${name}' has shape [${shape}], expected [${n}, ${n}]`, { tensor: name });
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (v[i * n + j] !== (j <= i ? 1 : 0)) {
        throw new FarmerError('FARMER_E_CORRUPT', `${source}: '${name}' is not the causal (lower-triangular) mask TARFlow uses`, { tensor: name });
      }
    }
  }
}

/**
 * `farmer import tarflow`: reads the weights at `weightsPath` (safetensors),
 * takes `hyper`, the model's hyper-parameters as parsed JSON (validated by
 * {@link TarflowHyperSchema}; the caller reads the file), and writes a flow
 * checkpoint to `outDir` (replacing only a flow checkpoint or an empty folder
 * there, unless `options.force`).
 */
export async function importTarflowCheckpoint(weightsPath: string, hyper: unknown, outDir: string, options: { force?: boolean } = {}): Promise<ImportedTarflow> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(weightsPath));
  } catch {
    throw new FarmerError('FARMER_E_NOT_FOUND', `TARFlow weights ${weightsPath} cannot be read`, { file: weightsPath });
  }
  const imported = importTarflowStateDict(bytes, hyper, weightsPath);
  const { flow, priorVar } = imported;
  await saveFlowCheckpoint(outDir, flow, {
    meta: { importedFrom: weightsPath, tarflow: hyper as Record<string, unknown>, skippedBuffers: imported.skipped },
    extraTensors: priorVar ? { 'prior.var': { dtype: 'F32', shape: [flow.numTokens, flow.tokenDim], data: priorVar } } : undefined,
    force: options.force,
  });
  return imported;
}
