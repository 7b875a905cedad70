import { FarmerError, readCheckpoint, resolveCheckpointDir, tf } from '@farmer/core';
import type { FarmerConfig } from './config.js';
import { tfLikelihood } from './likelihood.js';
import type { ArLogLik, FarmerLikelihood, FlowForwardOutputs, HostNll } from './likelihood-interface.js';
import type { JacobiPlan } from '@farmer/flow';
import { decodeByJacobi } from './jacobi-decode.js';
import type { AfBlockAccess, ArStream, DecodeOptions, Decoder, FarmerRunner } from './runner-interface.js';
import { farmerFromCheckpoint, type FarmerModel } from './farmer-model.js';

/** A student decoder supplied by @farmer/distill: z [B, N, d] → tokens [B, N, d]. */
export type StudentDecode = (z: tf.Tensor3D) => tf.Tensor3D;

/** The tfjs runner over a FarmerModel (and optionally a distilled student). */
export class TfRunner implements FarmerRunner, FarmerLikelihood {
  readonly runtime = 'tfjs';
  readonly decoders: Decoder[];
  readonly afBlocks: AfBlockAccess;
  jacobiPlan?: JacobiPlan;

  constructor(
    readonly model: FarmerModel,
    private readonly student?: StudentDecode,
    private readonly onDispose?: () => void,
  ) {
    this.decoders = student ? ['flow', 'jacobi', 'student'] : ['flow', 'jacobi'];
    // FARMER's AF runs with the null class vector: no labels, no guidance.
    const flow = model.flow;
    this.afBlocks = {
      pass: flow.jacobiPass(),
      exact: async (t, z, batch) => {
        const zt = tf.tensor3d(z, [batch, flow.numTokens, flow.tokenDim]);
        const x = await flow.reverseBlock(t, zt).finally(() => zt.dispose());
        try {
          return (await x.data()) as Float32Array;
        } finally {
          x.dispose();
        }
      },
    };
  }

  /** Frees the model's weights (and whatever `onDispose` owns, e.g. the student). */
  dispose(): void {
    this.model.dispose();
    this.onDispose?.();
  }

  /** The model's config. */
  get config(): FarmerConfig {
    return this.model.config;
  }

  /** The joint NLL of dequantised images (FarmerLikelihood). */
  nll(images: Float32Array, batch: number, labels: ArrayLike<number> | null): Promise<HostNll> {
    return tfLikelihood(this.model).nll(images, batch, labels);
  }

  /** The AF forward of dequantised images (FarmerLikelihood). */
  flowForward(images: Float32Array, batch: number): Promise<FlowForwardOutputs> {
    return tfLikelihood(this.model).flowForward(images, batch);
  }

  /** The AR terms of AR-ordered latents (FarmerLikelihood). */
  arLogLik(zAr: Float32Array, batch: number, labels: ArrayLike<number> | null): Promise<ArLogLik> {
    return tfLikelihood(this.model).arLogLik(zAr, batch, labels);
  }

  openArStream(labels: ArrayLike<number>): ArStream {
    return this.model.ar.openStream(labels, labels.length);
  }

  async decode(z: Float32Array, batch: number, options: DecodeOptions = {}): Promise<Float32Array> {
    const { numTokens: N, tokenDim: d } = this.model.dims;
    if (z.length !== batch * N * d) throw new FarmerError('FARMER_E_SHAPE', `decode: z has ${z.length} values, expected B·N·d = ${batch}·${N}·${d}`);
    if (options.decoder === 'jacobi') return decodeByJacobi(this, this.afBlocks, z, batch, options);
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
