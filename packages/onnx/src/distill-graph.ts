import { flowDims, parseFlowConfig, STUDENT_PREFIX, type FlowConfig, type FlowConfigInput } from '@farmer/flow';
import { appendGradients, unsupportedOps } from './grad/append-gradients.js';
import type { GradientCoverage } from './gradient-graph.js';
import { flowForward, studentChain } from './flow-graphs.js';
import { attr, GraphBuilder, type Dim } from './graph-builder.js';
import { inputParams, under, type ParamSpec } from './graph-ops.js';
import { BATCH } from './io-names.js';
import { flowParamSpecs } from './param-specs.js';

/** Output names of the distillation gradient graph. */
export const DISTILL_OUTPUTS = {
  loss: 'loss',
  blockMse: 'block_mse',
  /** The output name of the gradient of parameter `param`. */
  grad: (param: string) => `grad.${param}`,
} as const;

/** Input-name prefix of the frozen teacher AF (the student's inputs are `Student.variableNames()`, under `student.`). */
export const TEACHER_PREFIX = 'teacher.';

/** The distillation step graph and its parameter inputs. */
export interface DistillGradientGraph {
  graph: GraphBuilder;
  /** Student parameters, in `Student.variables()` order; grads come back in this order. */
  student: ParamSpec[];
  /** The teacher's parameters (frozen: inputs without gradients), in its ParamStore order. */
  teacher: ParamSpec[];
}

/** (Z̃ − Z)² averaged over all B·N·d elements, a scalar. */
function meanSquaredError(g: GraphBuilder, a: string, b: string): string {
  const d = g.op('Sub', [a, b]);
  return g.op('ReduceMean', [g.op('Mul', [d, d])], [attr.int('keepdims', 0)], 'block_mse');
}

/** The loss part of the distillation graph: inputs declared, `loss` and `block_mse` computed (not yet outputs). */
function distillLossGraph(c: FlowConfig, batch: Dim): { g: GraphBuilder; student: ParamSpec[]; teacher: ParamSpec[]; loss: string; blockMse: string } {
  const { numTokens: N, tokenDim: d } = flowDims(c);
  const g = new GraphBuilder('farmer_distill_step');
  const teacher = flowParamSpecs(c, TEACHER_PREFIX);
  const student = flowParamSpecs(c, STUDENT_PREFIX);
  const p = inputParams(g, [...teacher, ...student]);
  const images = g.input('images', 'float32', [batch, c.inChannels, c.imageSize, c.imageSize]);
  const eps = g.input('eps', 'float32', [batch, N, d]);
  const scales = g.input('scales', 'float32', [batch]);
  const targets = flowForward(g, under(p, TEACHER_PREFIX), c, images).latents;
  const noise = g.op('Mul', [eps, g.op('Unsqueeze', [scales, g.int64s([1, 2])])]);
  const outputs = studentChain(g, under(p, STUDENT_PREFIX), c, g.op('Add', [targets[c.numBlocks], noise], [], 'z_noisy'));
  const mse = outputs.map((o, t) => g.op('Unsqueeze', [meanSquaredError(g, o, targets[t]), g.int64s([0])]));
  const blockMse = g.op('Concat', mse, [attr.int('axis', 0)]);
  const loss = g.op('ReduceMean', [blockMse], [attr.ints('axes', [0]), attr.int('keepdims', 0)]);
  return { g, student, teacher, loss, blockMse };
}

/**
 * One distillation step (the paper's Algorithm 2, docs/method.md §8.2 distillation step) as an ONNX
 * graph: the frozen teacher AF encodes images [B, C, H, W] into Z^0 … Z^n;
 * Z̃^n = Z^n + s·ε with eps [B, N, d] and scales s [B]; the student chains
 * blocks n−1 … 0 from Z̃^n, each taking its own previous output; loss = the
 * mean over blocks of the per-block MSE. Outputs `loss`, `block_mse` [n]
 * (indexed by block) and `grad.<student name>` for every student
 * parameter; the teacher gets no gradients.
 *
 * Throws FARMER_E_UNSUPPORTED naming any op the gradient builder cannot
 * differentiate.
 */
export function buildDistillGradientGraph(config: FlowConfig | FlowConfigInput, options: { batch?: number } = {}): DistillGradientGraph {
  const c = parseFlowConfig(config);
  const { g, student, teacher, loss, blockMse } = distillLossGraph(c, options.batch ?? BATCH);
  const grads = appendGradients(g, loss, student.map((s) => s.name));
  g.output(DISTILL_OUTPUTS.loss, loss, 'float32', []);
  g.output(DISTILL_OUTPUTS.blockMse, blockMse, 'float32', [c.numBlocks]);
  for (const s of student) g.output(DISTILL_OUTPUTS.grad(s.name), grads.get(s.name)!, 'float32', s.shape);
  return { graph: g, student, teacher };
}

/** Checks, from an AF config alone, that every op of its distillation graph has a gradient rule. */
export function distillGradientCoverage(config: FlowConfig | FlowConfigInput): GradientCoverage {
  const { g, student, loss } = distillLossGraph(parseFlowConfig(config), BATCH);
  const missing = unsupportedOps(g, loss, student.map((s) => s.name));
  return { supported: missing.length === 0, unsupportedOps: missing };
}
