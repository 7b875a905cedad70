import type { onnx } from 'onnx-proto';
import { FarmerError } from '@farmer/core';
import type { GraphBuilder } from '../graph-builder.js';
import { ELEMENTWISE_VJPS } from './elementwise-vjps.js';
import { LAYOUT_VJPS } from './layout-vjps.js';
import { REDUCE_VJPS } from './reduce-vjps.js';
import { inferShapes, SHAPE_OPS } from './shape-inference.js';
import { VjpContext, type FloatDtype, type VjpNode, type VjpRule } from './vjp-context.js';

/** Every op with a vector-Jacobian product rule. */
export const VJP_RULES: Readonly<Record<string, VjpRule>> = { ...ELEMENTWISE_VJPS, ...LAYOUT_VJPS, ...REDUCE_VJPS };

/** Ops whose outputs carry no gradient (shapes, index arithmetic, comparisons, constants). */
export const NON_DIFFERENTIABLE: ReadonlySet<string> = new Set(['Constant', 'Shape', 'Size', 'ConstantOfShape', 'Range', 'Greater', 'Less', 'Equal', 'Not', 'And', 'Or', 'OneHot', 'ArgMax', 'ArgMin']);

/**
 * The nodes a gradient flows through: reachable from `wrt` through
 * differentiable ops, and reaching `loss`. Each comes with which of its
 * inputs depend on `wrt` (only those get gradients).
 */
function gradientPath(nodes: onnx.INodeProto[], loss: string, wrt: readonly string[]): VjpNode[] {
  const active = new Set(wrt);
  const forward: VjpNode[] = [];
  for (const node of nodes) {
    const op = node.opType!;
    if (NON_DIFFERENTIABLE.has(op)) continue;
    const inputs = node.input ?? [];
    const needs = inputs.map((x) => active.has(x));
    if (!needs.some(Boolean)) continue;
    const outputs = node.output ?? [];
    for (const o of outputs) active.add(o);
    forward.push({ node, op, inputs, outputs, needs });
  }
  const reaches = new Set([loss]);
  const path: VjpNode[] = [];
  for (let i = forward.length - 1; i >= 0; i--) {
    const n = forward[i];
    if (!n.outputs.some((o) => reaches.has(o))) continue;
    n.inputs.forEach((x, j) => n.needs[j] && reaches.add(x));
    path.push(n);
  }
  return path.reverse();
}

/**
 * Op types the gradient builder cannot handle (empty when the graph is
 * covered): on the path from `wrt` to `loss` without a VJP rule, or
 * anywhere in the graph without a shape rule.
 */
export function unsupportedOps(g: GraphBuilder, loss: string, wrt: readonly string[]): string[] {
  const nodes = g.graphProto().node ?? [];
  const missing = new Set<string>();
  for (const n of gradientPath(nodes, loss, wrt)) if (!VJP_RULES[n.op]) missing.add(n.op);
  for (const n of nodes) if (!SHAPE_OPS.has(n.opType!)) missing.add(n.opType!);
  return [...missing];
}

export interface GradientOptions {
  /** The graph's float type, for the constants the rules emit (default float32). */
  dtype?: FloatDtype;
}

/**
 * Reverse-mode differentiation of a graph built by GraphBuilder: appends,
 * in reverse topological order, each op's vector-Jacobian product as ONNX
 * ops, summing the contributions of a value read by several nodes. `loss`
 * must be a scalar (or one element); `wrt` are graph inputs. Returns the
 * value holding d loss / d w for each w (zeros when the loss does not
 * depend on it), shaped like w.
 *
 * Throws FARMER_E_UNSUPPORTED naming every op on the path that has no rule.
 */
export function appendGradients(g: GraphBuilder, loss: string, wrt: readonly string[], options: GradientOptions = {}): Map<string, string> {
  const nodes = [...(g.graphProto().node ?? [])];
  const path = gradientPath(nodes, loss, wrt);
  const missing = unsupportedOps(g, loss, wrt);
  if (missing.length) {
    const list = missing.map((m) => `'${m}'`).join(', ');
    throw new FarmerError(
      'FARMER_E_UNSUPPORTED',
      `the onnxruntime gradient builder does not cover op${missing.length > 1 ? 's' : ''} ${list} (graph ${g.name}); train this model with the tfjs engine`,
      { op: missing[0], ops: missing },
    );
  }
  const shapes = inferShapes(g);
  const c = new VjpContext(g, shapes, options.dtype ?? 'float32');
  const parts = new Map<string, string[]>();
  const summed = new Map<string, string>();
  const add = (v: string, grad: string) => {
    const list = parts.get(v);
    if (list) list.push(grad);
    else parts.set(v, [grad]);
  };
  /** The total gradient of v; every consumer of v has been processed when its producer asks. */
  const total = (v: string): string | undefined => {
    const done = summed.get(v);
    if (done) return done;
    const list = parts.get(v);
    if (!list) return undefined;
    const t = list.length === 1 ? list[0] : c.op('Sum', list);
    summed.set(v, t);
    return t;
  };
  const lossShape = shapes.shape(loss);
  if (lossShape.some((d) => d !== 1)) throw new FarmerError('FARMER_E_INTERNAL', `the loss '${loss}' must be a scalar, got shape [${lossShape}]`);
  add(loss, c.floats([1], lossShape as number[]));
  for (let i = path.length - 1; i >= 0; i--) {
    const n = path[i];
    const dys = n.outputs.map(total);
    if (dys.every((d) => d === undefined)) continue;
    const grads = VJP_RULES[n.op](c, n, dys);
    n.inputs.forEach((x, j) => {
      const gx = grads[j];
      if (n.needs[j] && gx) add(x, gx);
    });
  }
  return new Map(wrt.map((w) => [w, total(w) ?? c.zeros(shapes.shape(w), w)]));
}
