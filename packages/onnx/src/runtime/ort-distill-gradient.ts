import { FarmerError } from '@farmer/core';
import { flowDims, parseFlowConfig, type FlowConfig, type FlowConfigInput } from '@farmer/flow';
import * as ort from 'onnxruntime-node';
import { buildDistillGradientGraph, DISTILL_OUTPUTS } from '../distill-graph.js';
import type { ParamSpec } from '../graph-ops.js';
import { checkImages, GradientSessions, paramFeeds, scalarOutput, type GradientSessionOptions } from './gradient-sessions.js';

/**
 * One distillation step's input, drawn on the host (as @farmer/distill's
 * `prepareDistillBatch` makes it): the teacher's data and the latent noise.
 */
export interface DistillGradientBatch {
  /** [B, C, H, W] row-major, in [-1, 1] space. */
  values: Float32Array;
  shape: [number, number, number, number];
  /** ε ~ N(0, I), [B, N, d] row-major (AF token order). */
  eps: Float32Array;
  /** s per sample [B]. */
  scales: Float32Array;
}

/** One distillation gradient evaluation. */
export interface OrtDistillResult {
  /** Mean of the per-block MSEs. */
  loss: number;
  /** MSE of each block's output, indexed by block (`blockMse[0]`: the patch tokens). */
  blockMse: number[];
  /** d loss / d student parameter, in `student` order and in-memory layout. */
  grads: Float32Array[];
}

/**
 * The distillation objective (docs/method.md §8.2 distillation step) and the gradient of every
 * student parameter on onnxruntime-node, from one session run: the frozen
 * teacher's forward, the noisy start, the student chain and the per-block
 * MSE, as `distillLossAndGrads` computes them on tfjs. Teacher and student
 * weights are inputs, so one session serves every step.
 */
export class OrtDistillGradient {
  private constructor(
    readonly config: FlowConfig,
    /** Student parameters in `Student.variables()` order (names `student.…`). */
    readonly student: ParamSpec[],
    /** Teacher parameters in the teacher flow's ParamStore order (names `teacher.…`). */
    readonly teacher: ParamSpec[],
    private readonly sessions: GradientSessions,
  ) {}

  /** Prepares the engine for an AF config (the graph is built now, so an uncovered op fails here). */
  static async create(config: FlowConfig | FlowConfigInput, options: GradientSessionOptions = {}): Promise<OrtDistillGradient> {
    const c = parseFlowConfig(config);
    const { student, teacher } = buildDistillGradientGraph(c);
    const sessions = new GradientSessions((batch) => buildDistillGradientGraph(c, { batch }).graph.encode(), 'distillation gradient', options);
    return new OrtDistillGradient(c, student, teacher, sessions);
  }

  /** Loss, block errors and student gradients for one batch prepared by `prepareDistillBatch`. */
  async run(studentValues: readonly Float32Array[], teacherValues: readonly Float32Array[], batch: DistillGradientBatch): Promise<OrtDistillResult> {
    const b = checkImages(batch.values, batch.shape, this.config);
    const { numTokens: N, tokenDim: d } = flowDims(this.config);
    if (batch.eps.length !== b * N * d) throw new FarmerError('FARMER_E_SHAPE', `eps holds ${batch.eps.length} values, expected B·N·d = ${b * N * d}`, { field: 'eps' });
    if (batch.scales.length !== b) throw new FarmerError('FARMER_E_SHAPE', `scales hold ${batch.scales.length} values, expected B = ${b}`, { field: 'scales' });
    const feeds = paramFeeds(this.teacher, teacherValues, {
      images: new ort.Tensor('float32', batch.values, [...batch.shape]),
      eps: new ort.Tensor('float32', batch.eps, [b, N, d]),
      scales: new ort.Tensor('float32', batch.scales, [b]),
    });
    paramFeeds(this.student, studentValues, feeds);
    const out = await this.sessions.run(b, feeds);
    return {
      loss: scalarOutput(out, DISTILL_OUTPUTS.loss),
      blockMse: Array.from(out[DISTILL_OUTPUTS.blockMse].data as Float32Array),
      grads: this.student.map((p) => out[DISTILL_OUTPUTS.grad(p.name)].data as Float32Array),
    };
  }

  /** onnxruntime intra-op threads of its sessions. */
  get threads(): number {
    return this.sessions.threads;
  }

  /** Releases the onnxruntime sessions. */
  dispose(): Promise<void> {
    return this.sessions.dispose();
  }
}

/** Rows [start, start + count) of a distillation batch, without copying (the shards of data-parallel distillation). */
export function shardDistillBatch(b: DistillGradientBatch, start: number, count: number): DistillGradientBatch {
  const [n, c, h, w] = b.shape;
  const per = c * h * w;
  const eps = b.eps.length / n;
  return {
    values: b.values.subarray(start * per, (start + count) * per),
    shape: [count, c, h, w],
    eps: b.eps.subarray(start * eps, (start + count) * eps),
    scales: b.scales.subarray(start, start + count),
  };
}
