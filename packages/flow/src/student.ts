import { FarmerError, ParamStore, tf, type TensorMap } from '@farmer/core';
import { alphaMu, blockInverseStep, blockNet, blockWeights, classVector, classWeights, type BlockWeights } from './block.js';
import { flowDims, parseFlowConfig, type FlowConfig } from './config.js';
import type { Flow } from './flow.js';
import { flowParamShapes } from './params.js';
import { permuteTokens } from './permute-tokens.js';
import type { StudentMeta } from './student-meta.js';

/** Student weights sit under this prefix in `student.safetensors`: `student.blocks.{t}.…` (docs/method.md §9.5 student parts). */
export const STUDENT_PREFIX = 'student.';

/**
 * One student block (docs/method.md §8.1 student), the one-pass inverse of
 * teacher block t: z̃^{t+1} [B, N, d] → z̃^t [B, N, d], both in original
 * token order.
 *
 * Like the teacher, the block permutes its input (and positional embedding)
 * into block t's working order, works, and un-permutes; unlike the teacher,
 * attention is bidirectional and the output is not shifted, so row i of the
 * network gives (α'_i, μ'_i) for token i itself: x = z·exp(α'(z)) + μ'(z).
 * A zero `proj_out` gives α' = μ' = 0, the identity, which is the exact
 * inverse of an identity teacher block.
 */
export function studentBlock(bw: BlockWeights, config: FlowConfig, z: tf.Tensor3D, classVec: tf.Tensor3D | undefined): tf.Tensor3D {
  const { tokenDim: d, heads } = flowDims(config);
  const zp = permuteTokens(bw.t, z);
  const { alpha, mu } = alphaMu(blockNet(bw, heads, zp, classVec), config, d);
  return permuteTokens(bw.t, blockInverseStep(zp, alpha, mu));
}

/**
 * The distilled one-step decoder (docs/method.md §8.1 student, the paper's
 * Algorithm 2): n blocks shaped like the teacher AF's (same config, same
 * weight names), run in reverse block order n−1 … 0, each in one parallel
 * pass. A class-conditional AF is run with the null label (the mean class
 * embedding), as FARMER runs its AF.
 */
export class Student {
  readonly config: FlowConfig;
  readonly numTokens: number;
  readonly tokenDim: number;

  constructor(
    config: FlowConfig,
    readonly params: ParamStore,
    /** Provenance and teacher binding, as stored in the checkpoint's `meta.student`. */
    readonly meta?: StudentMeta,
  ) {
    this.config = parseFlowConfig(config, 'student flow config');
    const d = flowDims(this.config);
    this.numTokens = d.numTokens;
    this.tokenDim = d.tokenDim;
  }

  /**
   * A student initialised from the teacher's weights (a copy; the teacher is
   * untouched). `init: 'teacher-identity'` zeroes the copied proj_out, so the
   * student starts as the identity map.
   */
  static fromTeacher(teacher: Flow, options: { init?: 'teacher' | 'teacher-identity'; meta?: StudentMeta } = {}): Student {
    const store = new ParamStore(flowParamShapes(teacher.config)).copyFrom(teacher.params);
    if (options.init === 'teacher-identity') {
      for (const name of store.names()) {
        const v = store.get(name);
        if (/proj_out\.(weight|bias)$/.test(name)) tf.tidy(() => v.assign(tf.zerosLike(v)));
      }
    }
    return new Student(teacher.config, store, options.meta);
  }

  /** A student with the shapes of `config` and weights from a tensor map under `student.` (exact names and shapes). */
  static fromTensorMap(config: FlowConfig, map: TensorMap, file: string, meta?: StudentMeta): Student {
    const store = new ParamStore(flowParamShapes(config));
    try {
      store.loadTensorMap(map, file, STUDENT_PREFIX);
    } catch (e) {
      store.dispose();
      throw e;
    }
    return new Student(config, store, meta);
  }

  /** Trainable variables, in a fixed order. */
  variables(): tf.Variable[] {
    return this.params.variables();
  }

  /** Checkpoint names matching `variables()`. */
  variableNames(): string[] {
    return this.params.names().map((n) => STUDENT_PREFIX + n);
  }

  private checkLatent(z: tf.Tensor): void {
    const [, n, d] = z.shape;
    if (z.rank !== 3 || n !== this.numTokens || d !== this.tokenDim) {
      throw new FarmerError('FARMER_E_SHAPE', `student input must be [B, ${this.numTokens}, ${this.tokenDim}], got [${z.shape}]`);
    }
  }

  /**
   * Runs the student blocks n−1 … 0 from final latents z̃^n [B, N, d] (AF
   * order). Returns every block's output, `outputs[t]` = z̃^t (so
   * `outputs[0]` are the patch tokens). Differentiable; call inside tf.tidy
   * or a gradient closure.
   */
  chain(z: tf.Tensor3D): tf.Tensor3D[] {
    this.checkLatent(z);
    const c = this.config;
    const cw = c.numClasses > 0 ? classWeights(null, z.shape[0], c.numClasses) : undefined;
    const outputs: tf.Tensor3D[] = new Array(c.numBlocks);
    let h = z;
    for (let t = c.numBlocks - 1; t >= 0; t--) {
      const bw = blockWeights(this.params, c, t);
      h = studentBlock(bw, c, h, classVector(bw, cw));
      outputs[t] = h;
    }
    return outputs;
  }

  /**
   * Final latents z [B, N, d] (AF order) → patch tokens [B, N, d]: n parallel
   * passes instead of the teacher's n·(N−1) sequential steps. A
   * `StudentDecode` for `TfRunner`; call inside tf.tidy (TfRunner does).
   */
  readonly decode = (z: tf.Tensor3D): tf.Tensor3D => {
    const out = this.chain(z);
    return out[0];
  };

  /** PyTorch-layout weights under `student.`. */
  toTensorMap(): TensorMap {
    return this.params.toTensorMap(STUDENT_PREFIX);
  }

  /** Loads weights under `student.` (exact names and shapes; errors name the file and tensor). */
  loadTensorMap(map: TensorMap, file: string): void {
    this.params.loadTensorMap(map, file, STUDENT_PREFIX);
  }

  /** Disposes the student's weights. */
  dispose(): void {
    this.params.dispose();
  }
}
