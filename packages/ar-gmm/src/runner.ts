import { FarmerError, readCheckpoint, resolveCheckpointDir, tf } from '@farmer/core';
import type { FlowReverseOptions } from '@farmer/flow';
import type { FarmerConfig } from './config.js';
import type { StepGmm } from './ar-model.js';
import { tfLikelihood, type FarmerLikelihood, type HostNll } from './likelihood.js';
import { farmerFromCheckpoint, type FarmerModel } from './farmer-model.js';

/**
 * An AR stream as the samplers see it, whatever runtime backs it (tfjs here,
 * onnxruntime in @farmer/onnx): one label per row, a KV cache inside.
 */
export interface ArStream {
  readonly batch: number;
  /** G_1 for every row (prefills the class prefix). */
  first(): Promise<StepGmm>;
  /** Feeds token i's informative part [B·d_I]; returns G_{i+1}, or the redundant GMM after the N-th token. */
  next(zI: Float32Array): Promise<StepGmm>;
  dispose(): void;
}

/** Which inverse of the AF decodes latents. */
export type Decoder = 'flow' | 'student';

export interface DecodeOptions {
  decoder?: Decoder;
  signal?: AbortSignal;
  onProgress?: FlowReverseOptions['onProgress'];
}

/**
 * What sampling and likelihood code needs from a model, independent of the
 * runtime: AR streams, and decoding of final latents to patch tokens.
 */
export interface FarmerRunner {
  readonly config: FarmerConfig;
  /** Runtime name for reports ('tfjs', 'onnxruntime'). */
  readonly runtime: string;
  /** Decoders this runner can use. */
  readonly decoders: Decoder[];
  /** labels [B]: a class or -1 (null label). */
  openArStream(labels: ArrayLike<number>): ArStream;
  /** Final latents z [B, N, d] (AF order) → patch tokens x [B, N, d]. */
  decode(z: Float32Array, batch: number, options?: DecodeOptions): Promise<Float32Array>;
  /** Frees weights and sessions (TfRunner, OrtRunner); the runner is unusable afterwards. */
  dispose?(): void | Promise<void>;
}

/** A student decoder supplied by @farmer/distill: z [B, N, d] → tokens [B, N, d]. */
export type StudentDecode = (z: tf.Tensor3D) => tf.Tensor3D;

/** The tfjs runner over a FarmerModel (and optionally a distilled student). */
export class TfRunner implements FarmerRunner, FarmerLikelihood {
  readonly runtime = 'tfjs';
  readonly decoders: Decoder[];

  constructor(
    readonly model: FarmerModel,
    private readonly student?: StudentDecode,
    private readonly onDispose?: () => void,
  ) {
    this.decoders = student ? ['flow', 'student'] : ['flow'];
  }

  /** Frees the model's weights (and whatever `onDispose` owns, e.g. the student). */
  dispose(): void {
    this.model.dispose();
    this.onDispose?.();
  }

  get config(): FarmerConfig {
    return this.model.config;
  }

  /** The joint NLL of dequantised images (FarmerLikelihood). */
  nll(images: Float32Array, batch: number, labels: ArrayLike<number> | null): Promise<HostNll> {
    return tfLikelihood(this.model).nll(images, batch, labels);
  }

  openArStream(labels: ArrayLike<number>): ArStream {
    return this.model.ar.openStream(labels, labels.length);
  }

  async decode(z: Float32Array, batch: number, options: DecodeOptions = {}): Promise<Float32Array> {
    const { numTokens: N, tokenDim: d } = this.model.dims;
    if (z.length !== batch * N * d) throw new FarmerError('FARMER_E_SHAPE', `decode: z has ${z.length} values, expected B·N·d = ${batch}·${N}·${d}`);
    const zt = tf.tensor3d(z, [batch, N, d]);
    try {
      if ((options.decoder ?? 'flow') === 'student') {
        if (!this.student) throw new FarmerError('FARMER_E_BAD_INPUT', 'this model has no distilled student; run `farmer distill` first or use the flow decoder', { field: 'decoder' });
        const out = tf.tidy(() => this.student!(zt));
        try {
          await this.model.flow.assertFinite(out.clone(), 0, 'reverse', true);
          return (await out.data()) as Float32Array;
        } finally {
          out.dispose();
        }
      }
      const out = await this.model.flow.reverse(zt, { signal: options.signal, onProgress: options.onProgress });
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    } finally {
      zt.dispose();
    }
  }
}

/**
 * Opens a FARMER checkpoint for inference on tfjs. Uses the EMA weights when
 * the checkpoint has them (the weights training evaluates and ships), unless
 * `ema: false`.
 */
export async function loadTfRunner(dir: string, options: { ema?: boolean; student?: StudentDecode } = {}): Promise<TfRunner> {
  const ck = await readCheckpoint(resolveCheckpointDir(dir), { parts: ['model', 'ema'] });
  const part = options.ema !== false && ck.tensors.ema ? 'ema' : 'model';
  return new TfRunner(farmerFromCheckpoint(ck, part), options.student);
}
