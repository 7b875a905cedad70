import type { ExactBlockInverse, FlowReverseProgress, JacobiBlockStats, JacobiPass, JacobiPlan } from '@farmer/flow/browser';
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

/**
 * Which inverse of the AF decodes latents: 'flow' the sequential exact
 * inverse, 'jacobi' the GS-Jacobi iteration (docs/method.md §3.13 Jacobi decoding), 'student' the distilled one-pass student.
 */
export type Decoder = 'flow' | 'student' | 'jacobi';

/** The Jacobi decoder's settings (docs/method.md §3.13 Jacobi decoding); defaults JACOBI_DEFAULTS, the exact cap, the plan's module count. */
export interface JacobiDecodeSettings {
  tolerance?: number;
  maxIterations?: number;
  /** Gauss-Seidel modules of the plan's tough blocks. */
  modules?: number;
}

/** A runtime's access to single AF blocks: the exact inverse of one block and the Jacobi fixed-point pass (for the Jacobi decoder and its calibration). */
export interface AfBlockAccess {
  exact: ExactBlockInverse;
  pass: JacobiPass;
}

/** Options of {@link FarmerRunner.decode}. */
export interface DecodeOptions {
  decoder?: Decoder;
  /** Settings of the 'jacobi' decoder. */
  jacobi?: JacobiDecodeSettings;
  /** Called after each block the 'jacobi' decoder solves, with its passes. */
  onJacobiBlock?: (stats: JacobiBlockStats) => void;
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
  /** The AF's single blocks, where the runtime offers them (the 'jacobi' decoder and its calibration). */
  readonly afBlocks?: AfBlockAccess;
  /** The model's Jacobi plan (its `jacobi-plan.json`), set by whoever opens the model; absent: plain Jacobi from the latent everywhere. */
  jacobiPlan?: JacobiPlan;
  /** Final latents z [B, N, d] (AF order) → patch tokens x [B, N, d]. */
  decode(z: Float32Array, batch: number, options?: DecodeOptions): Promise<Float32Array>;
  /** Frees weights and sessions (TfRunner, OrtRunner); the runner is unusable afterwards. */
  dispose?(): void | Promise<void>;
}
