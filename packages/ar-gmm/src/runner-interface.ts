import type { FlowReverseProgress } from '@farmer/flow/browser';
import type { FarmerConfig } from './config.js';
import type { GmmBatch } from './gmm-host.js';

/** Which GMM a step produced. */
export interface StepGmm {
  kind: 'informative' | 'redundant';
  /** Index of the token this GMM models (N for the shared redundant GMM). */
  token: number;
  gmm: GmmBatch;
}

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
  /** Frees the stream's KV cache; call it once the stream is done or abandoned. */
  dispose(): void;
}

/** Which inverse of the AF decodes latents. */
export type Decoder = 'flow' | 'student';

/** Options of {@link FarmerRunner.decode}. */
export interface DecodeOptions {
  decoder?: Decoder;
  signal?: AbortSignal;
  /** Called as the AF reverse advances (per token, or per block for runtimes that invert a block in one call). */
  onProgress?: (p: FlowReverseProgress) => void;
}

/**
 * What sampling needs from a model, independent of the runtime: AR streams,
 * and decoding of final latents to patch tokens. Scoring images is a
 * separate capability (`FarmerLikelihood`; see `ModelCapabilities`).
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
