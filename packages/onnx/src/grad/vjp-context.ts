import type { onnx } from 'onnx-proto';
import { attr, DTYPE, type Dim, type GraphBuilder } from '../graph-builder.js';
import { numel, type ShapeTable } from './shape-inference.js';

/** Float element type of a graph being differentiated. */
export type FloatDtype = 'float32' | 'float64';

/** One forward node as a VJP rule sees it. */
export interface VjpNode {
  node: onnx.INodeProto;
  op: string;
  inputs: string[];
  outputs: string[];
  /** Whether input i needs a gradient (it depends on a parameter). */
  needs: boolean[];
}

/** What a rule returns: one gradient per input (undefined: none needed or none exists). */
export type VjpResult = (string | undefined)[];

/**
 * The vector-Jacobian product of one op: given the node and the gradients
 * of the loss w.r.t. its outputs (`dys`, each shaped like its output;
 * undefined for an output the loss does not depend on), emit ONNX ops for
 * the gradients w.r.t. its inputs.
 */
export type VjpRule = (c: VjpContext, n: VjpNode, dys: (string | undefined)[]) => VjpResult;

/**
 * Helpers shared by the VJP rules: ops appended to the graph under
 * differentiation, static shapes of forward values, constants in the
 * graph's float type, and the shape bookkeeping (un-broadcasting,
 * reshaping and expanding a gradient, which must work with a symbolic batch).
 */
export class VjpContext {
  constructor(
    readonly g: GraphBuilder,
    readonly shapes: ShapeTable,
    readonly dtype: FloatDtype,
  ) {}

  op(opType: string, inputs: string[], attributes: onnx.IAttributeProto[] = []): string {
    return this.g.op(opType, inputs, attributes, `d.${opType}`);
  }

  opN(opType: string, inputs: string[], n: number, attributes: onnx.IAttributeProto[] = []): string[] {
    return this.g.opN(opType, inputs, n, attributes, `d.${opType}`);
  }

  shape(v: string): Dim[] {
    return this.shapes.shape(v);
  }

  /** A float scalar in the graph's type. */
  scalar(v: number): string {
    return this.g.floats([v], [], 'd.scalar', this.dtype);
  }

  /** A float tensor constant in the graph's type. */
  floats(values: number[], dims: number[]): string {
    return this.g.floats(values, dims, 'd.const', this.dtype);
  }

  ints(values: number[], dims: number[] = [values.length]): string {
    return this.g.int64s(values, dims, 'd.i');
  }

  /** Transposes the last two axes of a rank-`rank` tensor. */
  swapLast(x: string, rank: number): string {
    const perm = Array.from({ length: rank }, (_, i) => i);
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
    return this.op('Transpose', [x], [attr.ints('perm', perm)]);
  }

  /** Σ over `axes` (ReduceSum takes its axes as an input since opset 13). */
  reduceSum(x: string, axes: number[], keep: boolean): string {
    if (!axes.length) return x;
    return this.op('ReduceSum', [x, this.ints(axes)], [attr.int('keepdims', keep ? 1 : 0)]);
  }

  /** Mean over `axes` (opset 17 ReduceMean takes its axes as an attribute). */
  reduceMean(x: string, axes: number[]): string {
    return this.op('ReduceMean', [x], [attr.ints('axes', axes), attr.int('keepdims', 1)]);
  }

  /**
   * Reshapes x (shape `from`) to `to`. Static targets become a constant;
   * a symbolic dim at the same position is copied with 0; otherwise the
   * target is read at run time from `like`, a value of shape `to`.
   */
  reshape(x: string, from: Dim[], to: Dim[], like: string): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return x;
    const target = to.map((d, i) => (typeof d === 'number' ? d : from[i] === d ? 0 : undefined));
    if (target.every((d) => d !== undefined)) return this.op('Reshape', [x, this.ints(target as number[])]);
    const unknown = target.filter((d) => d === undefined).length;
    if (unknown === 1) return this.op('Reshape', [x, this.ints(target.map((d) => d ?? -1))]);
    return this.op('Reshape', [x, this.op('Shape', [like])]);
  }

  /**
   * Broadcasts x (shape `from`, same rank as `to`, 1 where it broadcasts) to
   * `to`. A symbolic dim x already has becomes 1 in the target (Expand
   * broadcasts both ways); a symbolic dim x lacks is read from `like`.
   */
  expand(x: string, from: Dim[], to: Dim[], like: string): string {
    if (from.every((d, i) => d === to[i])) return x;
    const target = to.map((d, i) => (typeof d === 'number' ? d : from[i] === d ? 1 : undefined));
    const shape = target.every((d) => d !== undefined) ? this.ints(target as number[]) : this.op('Shape', [like]);
    return this.op('Expand', [x, shape]);
  }

  /**
   * The gradient of a broadcast operand: Σ over the axes along which
   * `target` (shape `to`) was broadcast to `from`, the shape of `grad`.
   */
  unbroadcast(grad: string, from: Dim[], to: Dim[]): string {
    const extra = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) {
      if (i < extra) axes.push(i);
      else if (to[i - extra] === 1 && from[i] !== 1) axes.push(i);
    }
    if (!axes.length) return grad;
    // Only leading axes (a bias under a batched activation): drop them in the reduction itself.
    if (axes.length === extra) return this.reduceSum(grad, axes, false);
    const summed = this.reduceSum(grad, axes, true);
    return extra > 0 ? this.op('Squeeze', [summed, this.ints(Array.from({ length: extra }, (_, i) => i))]) : summed;
  }

  /** Zeros of shape `shape` (the shape of value `like`). */
  zeros(shape: Dim[], like: string): string {
    const zero: onnx.ITensorProto = { dims: [1], dataType: DTYPE[this.dtype], rawData: new Uint8Array(this.dtype === 'float64' ? 8 : 4) };
    const dims = shape.every((d) => typeof d === 'number') ? this.ints(shape as number[]) : this.op('Shape', [like]);
    return this.op('ConstantOfShape', [dims], [{ name: 'value', type: 4, t: zero }]);
  }

  /** dy / (number of elements of `x` over `axes`), the count read at run time when an axis is symbolic. */
  divideByCount(dy: string, x: string, axes: number[]): string {
    const shape = this.shape(x);
    const n = numel(axes.map((a) => shape[a]));
    if (n !== undefined) return this.op('Mul', [dy, this.scalar(1 / n)]);
    const dims = this.op('Gather', [this.op('Shape', [x]), this.ints(axes)], [attr.int('axis', 0)]);
    const count = this.op('Cast', [this.op('ReduceProd', [dims], [attr.int('keepdims', 0)])], [attr.int('to', DTYPE[this.dtype])]);
    return this.op('Div', [dy, count]);
  }
}
