import { FarmerError, makeCheckpointConfig, ParamStore, patchify, readCheckpoint, Rng, tf, writeCheckpoint, type LoadedCheckpoint, type TensorMap, countParams } from '@farmer/core';
import { Flow, FLOW_PREFIX, flowParamShapes, initFlowParams } from '@farmer/flow';
import { ArModel } from './ar-model.js';
import { arParamShapes, initArParams } from './ar-params.js';
import { farmerDims, parseFarmerConfig, type FarmerConfig, type FarmerConfigInput, type FarmerDims } from './config.js';
import { toArOrder } from './to-ar-order.js';
import { gmmLogProb } from './gmm.js';

/** AR weights sit under this prefix in checkpoints (docs/method.md §9.2 weight names). */
export const AR_PREFIX = 'ar.';
/** The model kind a FARMER checkpoint's `config.json` records. */
export const FARMER_KIND = 'farmer';

/** Per-sample pieces of the joint log-likelihood (nats), each [B]. */
export type FarmerNll = {
  /** −(1/(N·d))·[Σ log G_i(z_i^I) + Σ log G_{N+1}(z_i^R) + Σ_t log|det_t|] (docs/method.md §5.1 joint loss). */
  nllPerDim: tf.Tensor1D;
  logpInformative: tf.Tensor1D;
  logpRedundant: tf.Tensor1D;
  /** Σ over blocks of log|det|. */
  logdet: tf.Tensor1D;
};

/**
 * FARMER = AF (@farmer/flow) + AR-GMM, trained jointly by maximum
 * likelihood. The AF maps patch tokens to latents z [B, N, d]; after the
 * final permute, the first d_I channels of each token go to the AR's
 * informative GMMs and the rest to the shared redundant GMM.
 */
export class FarmerModel {
  readonly config: FarmerConfig;
  readonly dims: FarmerDims;

  constructor(
    config: FarmerConfig | FarmerConfigInput,
    readonly flow: Flow,
    readonly ar: ArModel,
  ) {
    this.config = parseFarmerConfig(config);
    this.dims = farmerDims(this.config);
  }

  /** A new model: the AF starts as the identity, the AR as documented in initArParams. */
  static create(config: FarmerConfig | FarmerConfigInput, seed: number | string = 0): FarmerModel {
    const c = parseFarmerConfig(config);
    const flow = new Flow(c.flow, initFlowParams(c.flow, new Rng(`flow-init:${seed}`)));
    const ar = new ArModel(c, initArParams(c, new Rng(`ar-init:${seed}`)));
    return new FarmerModel(c, flow, ar);
  }

  /**
   * A model whose weights are `values` in `variables()` order and in-memory
   * layout (how data-parallel replicas start from the trainer's weights).
   */
  static fromValues(config: FarmerConfig | FarmerConfigInput, values: Float32Array[]): FarmerModel {
    const c = parseFarmerConfig(config);
    let i = 0;
    const next = (_: string, shape: number[]) => tf.tensor(values[i++], shape);
    const flow = new Flow(c.flow, new ParamStore(flowParamShapes(c.flow)).initialise(next));
    const ar = new ArModel(c, new ParamStore(arParamShapes(c)).initialise(next));
    if (i !== values.length) throw new FarmerError('FARMER_E_SHAPE', `fromValues: got ${values.length} arrays for ${i} variables`);
    return new FarmerModel(c, flow, ar);
  }

  /** Copies of every variable's values, in `variables()` order and in-memory layout. */
  variableValues(): Float32Array[] {
    return [...this.flow.params.values(), ...this.ar.params.values()];
  }

  /** Sets every variable from host arrays in `variables()` order and in-memory layout. */
  loadValues(values: Float32Array[]): void {
    const nFlow = this.flow.params.names().length;
    this.flow.params.setValues(values.slice(0, nFlow));
    this.ar.params.setValues(values.slice(nFlow));
  }

  /** Host values in `variables()` order → PyTorch-layout weights under `flow.` and `ar.` (as `toTensorMap`). */
  valuesToTensorMap(values: Float32Array[]): TensorMap {
    const nFlow = this.flow.params.names().length;
    return { ...ParamStore.hostTensorMap(this.flow.params.shapes, values.slice(0, nFlow), FLOW_PREFIX), ...ParamStore.hostTensorMap(this.ar.params.shapes, values.slice(nFlow), AR_PREFIX) };
  }

  /** PyTorch-layout weights under `flow.` and `ar.` → host values in `variables()` order (exact names and shapes, as `loadTensorMap`). */
  valuesFromTensorMap(map: TensorMap, file: string): Float32Array[] {
    const unknown = Object.keys(map).find((k) => !k.startsWith(FLOW_PREFIX) && !k.startsWith(AR_PREFIX));
    if (unknown) throw new FarmerError('FARMER_E_SHAPE', `${file}: unexpected tensor '${unknown}' (FARMER weights live under flow. and ar.)`, { file, tensor: unknown });
    return [...ParamStore.hostValues(this.flow.params.shapes, map, file, FLOW_PREFIX), ...ParamStore.hostValues(this.ar.params.shapes, map, file, AR_PREFIX)];
  }

  /** Parameter counts from the config alone (nothing is allocated). */
  static countParams(config: FarmerConfig | FarmerConfigInput): { flow: number; ar: number; total: number } {
    const c = parseFarmerConfig(config);
    const flow = countParams(flowParamShapes(c.flow));
    const ar = countParams(arParamShapes(c));
    return { flow, ar, total: flow + ar };
  }

  /** Every trainable variable: AF first, then AR, in a fixed order. */
  variables(): tf.Variable[] {
    return [...this.flow.params.variables(), ...this.ar.params.variables()];
  }

  /** Names matching `variables()`, with their checkpoint prefixes. */
  variableNames(): string[] {
    return [...this.flow.params.names().map((n) => FLOW_PREFIX + n), ...this.ar.params.names().map((n) => AR_PREFIX + n)];
  }

  /** Splits AR-ordered latents [B, N, d] into informative [B, N, d_I] and redundant [B, N, d_R]. */
  splitChannels(z: tf.Tensor3D): { zI: tf.Tensor3D; zR?: tf.Tensor3D } {
    const { dI, dR } = this.dims;
    if (dR === 0) return { zI: z };
    const [zI, zR] = tf.split(z, [dI, dR], 2) as tf.Tensor3D[];
    return { zI, zR };
  }

  /**
   * The AR terms of docs/method.md §5.1 joint loss for AR-ordered latents
   * zAr [B, N, d]: Σ log G_i(z_i^I) and Σ log G_{N+1}(z_i^R), each [B].
   */
  arLogProb(zAr: tf.Tensor3D, labels?: ArrayLike<number> | null): { logpInformative: tf.Tensor1D; logpRedundant: tf.Tensor1D } {
    const { zI, zR } = this.splitChannels(zAr);
    const g = this.ar.forward(zI, labels);
    const logpInformative = tf.sum(gmmLogProb(zI, g.informative), 1) as tf.Tensor1D;
    // The redundant GMM [B, 1, K, d_R] broadcasts over the N tokens [B, N, d_R].
    const logpRedundant = zR && g.redundant ? (tf.sum(gmmLogProb(zR, g.redundant), 1) as tf.Tensor1D) : (tf.zeros([zAr.shape[0]]) as tf.Tensor1D);
    return { logpInformative, logpRedundant };
  }

  /**
   * The joint NLL (docs/method.md §5.1 joint loss) of patch tokens x [B, N, d]
   * in [-1, 1] space, with every Gaussian constant, so bits/dim follow
   * directly. Differentiable; call inside tf.tidy or a gradient closure.
   */
  nll(x: tf.Tensor3D, labels?: ArrayLike<number> | null): FarmerNll {
    const { numTokens: N, tokenDim: d } = this.dims;
    const { z, logdets } = this.flow.forward(x);
    const { logpInformative, logpRedundant } = this.arLogProb(toArOrder(this.config, z), labels);
    const logdet = tf.addN(logdets) as tf.Tensor1D;
    const nllPerDim = tf.div(tf.neg(tf.add(tf.add(logpInformative, logpRedundant), logdet)), N * d) as tf.Tensor1D;
    return { nllPerDim, logpInformative, logpRedundant, logdet };
  }

  /** The joint NLL of images [B, C, H, W] in [-1, 1]. */
  nllImages(x: tf.Tensor4D, labels?: ArrayLike<number> | null): FarmerNll {
    return this.nll(patchify(x, this.config.flow.patchSize), labels);
  }

  /** PyTorch-layout weights of both halves under `flow.` and `ar.`. */
  toTensorMap(): TensorMap {
    return { ...this.flow.params.toTensorMap(FLOW_PREFIX), ...this.ar.params.toTensorMap(AR_PREFIX) };
  }

  /** Loads both halves from a tensor map (exact names and shapes). */
  loadTensorMap(map: TensorMap, file: string): void {
    this.loadValues(this.valuesFromTensorMap(map, file));
  }

  /** Disposes the AF's and the AR's weights. */
  dispose(): void {
    this.flow.dispose();
    this.ar.dispose();
  }
}

/** Builds a FarmerModel (uninitialised weights replaced by `part`'s tensors) from a loaded checkpoint. */
export function farmerFromCheckpoint(ck: LoadedCheckpoint, part = 'model'): FarmerModel {
  if (ck.config.kind !== FARMER_KIND) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${ck.dir} holds a '${ck.config.kind}' checkpoint, not a FARMER model`, { file: ck.dir });
  }
  const config = parseFarmerConfig(ck.config.model, `${ck.dir}/config.json model`);
  const tensors = ck.tensors[part];
  if (!tensors) throw new FarmerError('FARMER_E_CORRUPT', `${ck.dir} has no ${part}.safetensors`, { file: ck.dir });
  const model = new FarmerModel(config, new Flow(config.flow, new ParamStore(flowParamShapes(config.flow))), new ArModel(config, new ParamStore(arParamShapes(config))));
  try {
    model.loadTensorMap(tensors, `${ck.dir}/${part}.safetensors`);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Loads a FARMER checkpoint directory; `ema: true` takes the EMA weights when present. */
export async function loadFarmer(dir: string, options: { ema?: boolean } = {}): Promise<FarmerModel> {
  const ck = await readCheckpoint(dir, { parts: ['model', 'ema'] });
  return farmerFromCheckpoint(ck, options.ema && ck.tensors.ema ? 'ema' : 'model');
}

/**
 * Writes a weights-only FARMER checkpoint (the trainer writes its own, with
 * state). An existing `dir` is replaced only when it is a FARMER checkpoint
 * or empty, unless `extra.force` (see writeCheckpoint).
 */
export async function saveFarmer(
  dir: string,
  model: FarmerModel,
  extra: { meta?: Record<string, unknown>; training?: Record<string, unknown>; tensors?: Record<string, TensorMap>; force?: boolean } = {},
): Promise<void> {
  await writeCheckpoint(
    dir,
    {
      config: makeCheckpointConfig(FARMER_KIND, model.config as unknown as Record<string, unknown>, { meta: extra.meta, training: extra.training }),
      tensors: { model: model.toTensorMap(), ...extra.tensors },
    },
    { force: extra.force },
  );
}
