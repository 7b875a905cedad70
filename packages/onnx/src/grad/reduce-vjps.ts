import { FarmerError } from '@farmer/core';
import { attr, DTYPE } from '../graph-builder.js';
import { intAttr, intsAttr, normAxis } from './shape-inference.js';
import type { VjpContext, VjpNode, VjpRule } from './vjp-context.js';

/**
 * VJPs of the ops that mix elements: MatMul, reductions, softmax-family
 * normalisations and LayerNormalization (its backward in primitive ops).
 */

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** The reduced axes of a Reduce* node (an attribute before opset 18 except for ReduceSum), all axes when absent. */
function reduceAxes(c: VjpContext, n: VjpNode): number[] {
  const rank = c.shape(n.inputs[0]).length;
  const given = n.op === 'ReduceSum' ? (n.inputs[1] ? c.shapes.staticInts(n.inputs[1], 'ReduceSum axes') : undefined) : intsAttr(n.node, 'axes');
  if (!given || !given.length) {
    if (n.op === 'ReduceSum' && intAttr(n.node, 'noop_with_empty_axes', 0)) throw new FarmerError('FARMER_E_UNSUPPORTED', 'ReduceSum with noop_with_empty_axes has no gradient rule', { op: n.op });
    return range(0, rank);
  }
  return given.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
}

/** A reduced value (dy or y) with its reduced axes restored as 1s. */
function keepDims(c: VjpContext, n: VjpNode, v: string, axes: number[]): string {
  if (intAttr(n.node, 'keepdims', 1)) return v;
  return c.op('Unsqueeze', [v, c.ints(axes)]);
}

/** dy of a reduction broadcast back over x's shape. */
function expandBack(c: VjpContext, n: VjpNode, dyKeep: string, axes: number[]): string {
  const xs = c.shape(n.inputs[0]);
  const kept = xs.map((d, i) => (axes.includes(i) ? 1 : d));
  return c.expand(dyKeep, kept, xs, n.inputs[0]);
}

/**
 * MatMul, A [..., m, k] · B [..., k, n] with broadcast batch axes:
 * dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over the batch axes it was broadcast
 * along. A Linear (rank-2 B under a batched A) flattens the batch into one
 * GEMM, dB = A₂ᵀ·dY₂ with A₂ [P, k], dY₂ [P, n]; onnxruntime fuses the
 * transposes into its MatMul.
 */
const matMul: VjpRule = (c, n, [dy]) => {
  const [a, b] = n.inputs;
  const as = c.shape(a);
  const bs = c.shape(b);
  const ys = c.shape(n.outputs[0]);
  if (as.length < 2 || bs.length < 2) throw new FarmerError('FARMER_E_UNSUPPORTED', 'MatMul of a 1-D operand has no gradient rule', { op: 'MatMul' });
  let da: string | undefined;
  let db: string | undefined;
  if (n.needs[0]) {
    const full = c.op('MatMul', [dy!, c.swapLast(b, bs.length)]);
    da = c.unbroadcast(full, [...ys.slice(0, -1), as[as.length - 1]], as);
  }
  if (n.needs[1]) {
    if (bs.length === 2 && as.length > 2) {
      const k = as[as.length - 1] as number;
      const cols = bs[1] as number;
      const a2 = c.op('Reshape', [a, c.ints([-1, k])]);
      const dy2 = c.op('Reshape', [dy!, c.ints([-1, cols])]);
      db = c.op('MatMul', [c.op('Transpose', [a2], [attr.ints('perm', [1, 0])]), dy2]);
    } else {
      const full = c.op('MatMul', [c.swapLast(a, as.length), dy!]);
      db = c.unbroadcast(full, [...ys.slice(0, -2), bs[bs.length - 2], ys[ys.length - 1]], bs);
    }
  }
  return [da, db];
};

/** Softmax along one axis: dx = y·(dy − Σ dy·y). */
const softmax: VjpRule = (c, n, [dy]) => {
  const y = n.outputs[0];
  const axis = normAxis(intAttr(n.node, 'axis', -1), c.shape(y).length);
  const dot = c.reduceSum(c.op('Mul', [dy!, y]), [axis], true);
  return [c.op('Mul', [y, c.op('Sub', [dy!, dot])])];
};

/** log_softmax along one axis: dx = dy − softmax(x)·Σ dy, with softmax(x) = exp(y). */
const logSoftmax: VjpRule = (c, n, [dy]) => {
  const y = n.outputs[0];
  const axis = normAxis(intAttr(n.node, 'axis', -1), c.shape(y).length);
  return [c.op('Sub', [dy!, c.op('Mul', [c.op('Exp', [y]), c.reduceSum(dy!, [axis], true)])])];
};

/** logsumexp: dx = dy·exp(x − y), the softmax of x over the reduced axes. */
const reduceLogSumExp: VjpRule = (c, n, [dy]) => {
  const axes = reduceAxes(c, n);
  const x = n.inputs[0];
  const w = c.op('Exp', [c.op('Sub', [x, keepDims(c, n, n.outputs[0], axes)])]);
  return [c.op('Mul', [keepDims(c, n, dy!, axes), w])];
};

const reduceSum: VjpRule = (c, n, [dy]) => {
  const axes = reduceAxes(c, n);
  return [expandBack(c, n, keepDims(c, n, dy!, axes), axes), undefined];
};

const reduceMean: VjpRule = (c, n, [dy]) => {
  const axes = reduceAxes(c, n);
  return [expandBack(c, n, c.divideByCount(keepDims(c, n, dy!, axes), n.inputs[0], axes), axes)];
};

/**
 * LayerNormalization over axes [axis, rank): y = x̂·w + b with
 * x̂ = (x − μ)·r, r = 1/√(var + ε). With g = dy·w:
 * dx = r·(g − mean(g) − x̂·mean(g·x̂)), dw = Σ dy·x̂, db = Σ dy over the
 * leading axes. μ and r come from the forward node's optional Mean and
 * InvStdDev outputs (added here), which onnxruntime computes anyway; they
 * are float32 whatever the input type, so a float64 graph casts them.
 */
const layerNorm: VjpRule = (c, n, dys) => {
  if (dys.slice(1).some((d) => d !== undefined)) throw new FarmerError('FARMER_E_UNSUPPORTED', 'LayerNormalization\'s Mean/InvStdDev outputs have no gradient rule', { op: n.op });
  const dy = dys[0]!;
  const [x, w] = n.inputs;
  const rank = c.shape(x).length;
  const axis = normAxis(intAttr(n.node, 'axis', -1), rank);
  const norm = range(axis, rank);
  const lead = range(0, axis);
  const [mean, invStd] = forwardStats(c, n);
  const xhat = c.op('Mul', [c.op('Sub', [x, mean]), invStd]);
  let dx: string | undefined;
  if (n.needs[0]) {
    const g = c.op('Mul', [dy, w]);
    const centred = c.op('Sub', [g, c.reduceMean(g, norm)]);
    dx = c.op('Mul', [invStd, c.op('Sub', [centred, c.op('Mul', [xhat, c.reduceMean(c.op('Mul', [g, xhat]), norm)])])]);
  }
  const dw = n.needs[1] ? c.reduceSum(c.op('Mul', [dy, xhat]), lead, false) : undefined;
  const db = n.needs[2] ? c.reduceSum(dy, lead, false) : undefined;
  return [dx, dw, db];
};

/** The forward LayerNormalization's Mean and InvStdDev ([..., 1, …, 1]), declared as its extra outputs when it has none, in the graph's type. */
function forwardStats(c: VjpContext, n: VjpNode): [string, string] {
  const outs = n.node.output!;
  while (outs.length < 3) outs.push('');
  for (const i of [1, 2]) if (!outs[i]) outs[i] = c.g.fresh(i === 1 ? 'ln_mean' : 'ln_inv_std');
  const typed = (v: string) => (c.dtype === 'float32' ? v : c.op('Cast', [v], [attr.int('to', DTYPE[c.dtype])]));
  return [typed(outs[1]), typed(outs[2])];
}

export const REDUCE_VJPS: Record<string, VjpRule> = {
  MatMul: matMul,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  ReduceLogSumExp: reduceLogSumExp,
  ReduceSum: reduceSum,
  ReduceMean: reduceMean,
  LayerNormalization: layerNorm,
};
