import { FarmerError } from '@farmer/core';
import { attr, DTYPE } from '../graph-builder.js';
import { attrOf, intAttr, intsAttr, normAxis, sliceRanges } from './shape-inference.js';
import type { VjpContext, VjpNode, VjpRule } from './vjp-context.js';

/**
 * VJPs of ops that move, select or reshape elements without arithmetic:
 * each is its own adjoint's mirror (Split ↔ Concat, Slice ↔ Pad,
 * a permuting Gather ↔ the inverse permutation, Reshape ↔ Reshape back).
 */

/** The gradient of a reshaping op: dy reshaped back to x's shape. */
const reshapeBack: VjpRule = (c, n, [dy]) => [c.reshape(dy!, c.shape(n.outputs[0]), c.shape(n.inputs[0]), n.inputs[0])];

/** The inverse of a permutation, or undefined if `idx` is not one of 0..n−1. */
function inversePermutation(idx: number[], n: number): number[] | undefined {
  if (idx.length !== n) return undefined;
  const inv = new Array<number>(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const j = idx[i] < 0 ? idx[i] + n : idx[i];
    if (j < 0 || j >= n || inv[j] !== -1) return undefined;
    inv[j] = i;
  }
  return inv;
}

/**
 * Gather along axis 0 by any indices (a parameter table read by an index
 * input): d table = onehot(indices)ᵀ·dy, one MatMul, which also sums the
 * rows that several indices picked.
 */
function gatherRowsVjp(c: VjpContext, n: VjpNode, dy: string): string {
  const [data, indices] = n.inputs;
  const ds = c.shape(data);
  const rows = ds[0];
  const rest = ds.slice(1);
  const restCount = rest.reduce<number>((a, d) => a * (d as number), 1);
  if (typeof rows !== 'number' || rest.some((d) => typeof d !== 'number')) {
    throw new FarmerError('FARMER_E_UNSUPPORTED', `Gather from a table with a symbolic shape [${ds}] has no gradient rule`, { op: 'Gather' });
  }
  // onnxruntime's OneHot has float32 outputs only (no double kernel).
  const hot = c.op('OneHot', [indices, c.ints([rows], []), c.g.floats([0, 1], [2], 'd.onoff')], [attr.int('axis', -1)]);
  const typed = c.dtype === 'float32' ? hot : c.op('Cast', [hot], [attr.int('to', DTYPE[c.dtype])]);
  const hot2 = c.op('Reshape', [typed, c.ints([-1, rows])]);
  const dy2 = c.op('Reshape', [dy, c.ints([-1, restCount])]);
  const grad = c.op('MatMul', [c.op('Transpose', [hot2], [attr.ints('perm', [1, 0])]), dy2]);
  return rest.length === 1 ? grad : c.op('Reshape', [grad, c.ints(ds as number[])]);
}

export const LAYOUT_VJPS: Record<string, VjpRule> = {
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: (c, n, [dy]) => {
    const rank = c.shape(n.inputs[0]).length;
    const perm = intsAttr(n.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const inv = new Array<number>(rank);
    perm.forEach((p, i) => (inv[p] = i));
    return [c.op('Transpose', [dy!], [attr.ints('perm', inv)])];
  },
  // Split ↔ Concat: an output the loss does not reach contributes zeros.
  Split: (c, n, dys) => {
    const rank = c.shape(n.inputs[0]).length;
    const axis = normAxis(intAttr(n.node, 'axis', 0), rank);
    const parts = n.outputs.map((o, i) => dys[i] ?? c.zeros(c.shape(o), o));
    return [c.op('Concat', parts, [attr.int('axis', axis)])];
  },
  Concat: (c, n, [dy]) => {
    const rank = c.shape(n.inputs[0]).length;
    const axis = normAxis(intAttr(n.node, 'axis', 0), rank);
    const sizes = n.inputs.map((x) => c.shape(x)[axis]);
    if (sizes.some((s) => typeof s !== 'number')) throw new FarmerError('FARMER_E_UNSUPPORTED', 'Concat along a symbolic axis has no gradient rule', { op: 'Concat' });
    if (n.inputs.length === 1) return [dy];
    const parts = c.opN('Split', [dy!, c.ints(sizes as number[])], n.inputs.length, [attr.int('axis', axis)]);
    return parts.map((p, i) => (n.needs[i] ? p : undefined));
  },
  // Slice ↔ zero Pad back to the input's shape.
  Slice: (c, n, [dy]) => {
    const [x, starts, ends, axes, steps] = n.inputs;
    const s = c.shape(x);
    const ranges = sliceRanges(
      s,
      c.shapes.staticInts(starts, 'Slice starts'),
      c.shapes.staticInts(ends, 'Slice ends'),
      axes ? c.shapes.staticInts(axes, 'Slice axes') : undefined,
      steps ? c.shapes.staticInts(steps, 'Slice steps') : undefined,
    );
    const pads = new Array<number>(2 * s.length).fill(0);
    for (const r of ranges) {
      pads[r.axis] = r.start;
      pads[r.axis + s.length] = (s[r.axis] as number) - r.end;
    }
    return [c.op('Pad', [dy!, c.ints(pads)])];
  },
  // Zero Pad ↔ Slice out the original region.
  Pad: (c, n, [dy]) => {
    const mode = attrOf(n.node, 'mode');
    if (mode && new TextDecoder().decode(mode.s ?? new Uint8Array()) !== 'constant') throw new FarmerError('FARMER_E_UNSUPPORTED', 'Pad in a mode other than constant has no gradient rule', { op: 'Pad' });
    const rank = c.shape(n.inputs[0]).length;
    const pads = c.shapes.staticInts(n.inputs[1], 'Pad pads');
    if (pads.some((p) => p < 0)) throw new FarmerError('FARMER_E_UNSUPPORTED', 'Pad with negative pads has no gradient rule', { op: 'Pad' });
    const axes = Array.from({ length: rank }, (_, i) => i).filter((i) => pads[i] || pads[i + rank]);
    if (!axes.length) return [dy];
    // An end of −pad counts from the end, so symbolic dims need no value.
    const ends = axes.map((i) => (pads[i + rank] ? -pads[i + rank] : Number.MAX_SAFE_INTEGER));
    return [c.op('Slice', [dy!, c.ints(axes.map((i) => pads[i])), c.ints(ends), c.ints(axes)])];
  },
  Gather: (c, n, [dy]) => {
    if (!n.needs[0]) return [undefined];
    const [data, indices] = n.inputs;
    const ds = c.shape(data);
    const axis = normAxis(intAttr(n.node, 'axis', 0), ds.length);
    const idx = c.shapes.ints(indices);
    const size = ds[axis];
    // A constant permutation (the flip of docs/method.md §3.4 permutations): gather dy by the inverse permutation.
    if (idx && typeof size === 'number' && c.shape(indices).length === 1 && idx.every((i) => typeof i === 'number')) {
      const inv = inversePermutation(idx as number[], size);
      if (inv) return [c.op('Gather', [dy!, c.ints(inv)], [attr.int('axis', axis)]), undefined];
    }
    if (axis !== 0) throw new FarmerError('FARMER_E_UNSUPPORTED', `Gather along axis ${axis} by indices that are not a constant permutation has no gradient rule`, { op: 'Gather' });
    return [gatherRowsVjp(c, n, dy!), undefined];
  },
  // Expand broadcasts like a binary op with an implicit operand.
  Expand: (c, n, [dy]) => [c.unbroadcast(dy!, c.shape(n.outputs[0]), c.shape(n.inputs[0])), undefined],
};
