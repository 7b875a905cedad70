import type { onnx } from 'onnx-proto';
import { FarmerError } from '@farmer/core';
import type { Dim, GraphBuilder } from '../graph-builder.js';

/**
 * Static shapes of every value of a graph built by GraphBuilder, derived
 * node by node from the declared input shapes and the embedded constants.
 * A dimension is a number or a symbolic name ('batch'), which only ever
 * passes through unchanged: the farmer graphs never reshape the batch axis.
 * Small int64 tensors (shape vectors, axes, indices) also get their values,
 * where they follow from constants and static shapes, since Reshape, Slice,
 * Pad and friends read their parameters from such inputs.
 */
export class ShapeTable {
  private readonly shapes = new Map<string, Dim[]>();
  private readonly values = new Map<string, Dim[]>();

  /** The shape of value `v`; a value the inference could not reach is an internal error. */
  shape(v: string): Dim[] {
    const s = this.shapes.get(v);
    if (!s) throw new FarmerError('FARMER_E_INTERNAL', `no static shape for graph value '${v}'`);
    return s;
  }

  /** The values of a small int64 tensor, when static. */
  ints(v: string): Dim[] | undefined {
    return this.values.get(v);
  }

  /** The values of a small int64 tensor that must be static (axes, pads, split sizes). */
  staticInts(v: string, what: string): number[] {
    const x = this.values.get(v);
    if (!x || x.some((d) => typeof d !== 'number')) throw new FarmerError('FARMER_E_INTERNAL', `${what} ('${v}') is not a static int64 constant`);
    return x as number[];
  }

  /** Like `ints`, but it must be known; symbolic entries are allowed (Reshape and Expand targets). */
  staticIntsOrSymbolic(v: string): Dim[] {
    const x = this.values.get(v);
    if (!x) throw new FarmerError('FARMER_E_INTERNAL', `shape input '${v}' is not static`);
    return x;
  }

  set(v: string, shape: Dim[], ints?: Dim[]): void {
    this.shapes.set(v, shape);
    if (ints) this.values.set(v, ints);
  }
}

/** Attribute readers (the builder writes plain numbers, never Longs). */
export function attrOf(node: onnx.INodeProto, name: string): onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}
export function intAttr(node: onnx.INodeProto, name: string, fallback: number): number {
  const a = attrOf(node, name);
  return a ? Number(a.i) : fallback;
}
export function intsAttr(node: onnx.INodeProto, name: string): number[] | undefined {
  const a = attrOf(node, name);
  return a ? (a.ints ?? []).map(Number) : undefined;
}

/** A non-negative axis of a rank-`rank` tensor. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Number of elements, when static. */
export function numel(s: Dim[]): number | undefined {
  let n = 1;
  for (const d of s) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

/** Numpy-style (multidirectional) broadcast of shapes; a symbolic dim broadcasts like one that is not 1. */
export function broadcastShapes(...shapes: Dim[][]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const dims = shapes.map((s) => s[i - (rank - s.length)]).filter((d): d is Dim => d !== undefined && d !== 1);
    const fixed = [...new Set(dims.filter((d) => typeof d === 'number'))];
    if (fixed.length > 1) throw new FarmerError('FARMER_E_INTERNAL', `shapes [${shapes.map((s) => s.join(',')).join('] and [')}] do not broadcast`);
    out.push(fixed[0] ?? dims[0] ?? 1);
  }
  return out;
}

/** Decodes the int64 values of a Constant node's tensor. */
function constantInts(t: onnx.ITensorProto): number[] | undefined {
  if (t.dataType !== 7) return undefined;
  if (t.rawData && t.rawData.length) {
    const raw = t.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)));
  }
  return (t.int64Data ?? []).map(Number);
}

/** Slice parameters normalised to one [start, end) per axis (steps of 1 only). */
export function sliceRanges(shape: Dim[], starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined): { axis: number; start: number; end: number }[] {
  if (steps?.some((s) => s !== 1)) throw new FarmerError('FARMER_E_UNSUPPORTED', `Slice with steps [${steps}] has no gradient rule (only step 1)`, { op: 'Slice' });
  return starts.map((s, i) => {
    const axis = normAxis(axes ? axes[i] : i, shape.length);
    const n = shape[axis];
    if (typeof n !== 'number') throw new FarmerError('FARMER_E_INTERNAL', `Slice over the symbolic axis ${axis}`);
    const clamp = (x: number) => Math.min(Math.max(x < 0 ? x + n : x, 0), n);
    return { axis, start: clamp(s), end: Math.max(clamp(ends[i]), clamp(s)) };
  });
}

function reducedShape(shape: Dim[], axes: number[] | undefined, keep: boolean): Dim[] {
  const all = axes === undefined || axes.length === 0;
  const set = new Set((axes ?? []).map((a) => normAxis(a, shape.length)));
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (all || set.has(i)) {
      if (keep) out.push(1);
    } else out.push(d);
  });
  return out;
}

function matMulShape(a: Dim[], b: Dim[]): Dim[] {
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2));
  const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

/** Reshape's target: 0 copies the input dim, -1 takes what is left. */
function reshapeShape(input: Dim[], target: Dim[]): Dim[] {
  const out = target.map((d, i) => (d === 0 ? input[i] : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const known = numel(out.filter((_, i) => i !== minus));
    const total = numel(input);
    if (known !== undefined && total !== undefined) out[minus] = total / known;
    else {
      // Symbolic: the one symbolic input dim must survive as a factor of -1.
      const sym = input.filter((d) => typeof d === 'string');
      const symOut = out.filter((d) => typeof d === 'string');
      const inNum = numel(input.filter((d) => typeof d === 'number'))!;
      const outNum = numel(out.filter((d, i) => i !== minus && typeof d === 'number'))!;
      if (sym.length === 1 && symOut.length === 0 && inNum === outNum) out[minus] = sym[0];
      else if (sym.length === symOut.length && sym.every((s, i) => s === symOut[i])) out[minus] = inNum / outNum;
      else throw new FarmerError('FARMER_E_INTERNAL', `cannot infer Reshape [${input}] → [${target}] statically`);
    }
  }
  return out;
}

/** What a shape rule sees of one node: its input shapes and int values, its attributes, and where its outputs go. */
interface NodeView {
  node: onnx.INodeProto;
  op: string;
  ins: string[];
  outs: string[];
  t: ShapeTable;
  /** The shape of input `i`. */
  S(i: number): Dim[];
  /** Whether optional input `i` is given. */
  has(i: number): boolean;
  /** Records output `i`'s shape and, for a small int64 tensor, its values. */
  set(i: number, shape: Dim[], ints?: Dim[]): void;
}

/** The output shapes (and int values) of one op, from its inputs'. */
type ShapeRule = (n: NodeView) => void;

/** Element-wise ops with one input: the output has the input's shape (and, for Identity and Cast, its values). */
const sameShape: ShapeRule = ({ op, ins, t, S, set }) => set(0, S(0), op === 'Identity' || op === 'Cast' ? t.ints(ins[0]) : undefined);

/** Broadcasting ops; scalar int arithmetic on static values is carried out (reverse-step row indices and the like). */
const broadcasting: ShapeRule = ({ op, ins, t, S, set }) => {
  const shape = broadcastShapes(...ins.map((_, i) => S(i)));
  const a = t.ints(ins[0]);
  const b = ins.length === 2 ? t.ints(ins[1]) : undefined;
  const num = (x?: Dim[]) => x && x.length === 1 && typeof x[0] === 'number';
  let v: Dim[] | undefined;
  if (num(a) && num(b)) {
    const [x, y] = [a![0] as number, b![0] as number];
    v = op === 'Add' ? [x + y] : op === 'Sub' ? [x - y] : op === 'Mul' ? [x * y] : undefined;
  }
  set(0, shape, v);
};

/** Reductions whose axes are an attribute. */
const reduceByAttr: ShapeRule = ({ node, S, set }) => set(0, reducedShape(S(0), intsAttr(node, 'axes'), intAttr(node, 'keepdims', 1) === 1));

const UNARY_SAME = ['Identity', 'Neg', 'Exp', 'Log', 'Tanh', 'Erf', 'Softplus', 'Sigmoid', 'Sqrt', 'Reciprocal', 'Softmax', 'LogSoftmax', 'Cast', 'Not', 'Relu', 'Abs'];
const BROADCASTING = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Where', 'Sum', 'Greater', 'Less', 'Equal', 'And', 'Or', 'Max', 'Min'];
const REDUCE_ATTR_AXES = ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceLogSumExp', 'ReduceProd', 'ReduceSumSquare'];

/** Ops whose outputs follow from the inputs' layout: transposes, reshapes, splits, joins, slices, pads, gathers. */
const LAYOUT_RULES: Record<string, ShapeRule> = {
  Transpose: ({ node, S, set }) => {
    const s = S(0);
    const perm = intsAttr(node, 'perm') ?? s.map((_, i) => s.length - 1 - i);
    set(0, perm.map((p) => s[p]));
  },
  Reshape: ({ ins, t, S, set }) => set(0, reshapeShape(S(0), t.staticIntsOrSymbolic(ins[1])), t.ints(ins[0])),
  Split: ({ node, ins, outs, t, S, has, set }) => {
    const s = S(0);
    const axis = normAxis(intAttr(node, 'axis', 0), s.length);
    const sizes = has(1) ? t.staticInts(ins[1], 'Split sizes') : outs.map(() => (s[axis] as number) / outs.length);
    sizes.forEach((n, i) => set(i, s.map((d, j) => (j === axis ? n : d))));
  },
  Concat: ({ node, ins, t, S, set }) => {
    const s = S(0);
    const axis = normAxis(intAttr(node, 'axis', 0), s.length);
    const parts = ins.map((_, i) => S(i)[axis]);
    const total = parts.every((d) => typeof d === 'number') ? (parts as number[]).reduce((x, y) => x + y, 0) : 'concat';
    const vals = ins.map((v) => t.ints(v));
    set(0, s.map((d, j) => (j === axis ? total : d)), vals.every((v) => v !== undefined) ? (vals.flat() as Dim[]) : undefined);
  },
  Slice: ({ ins, t, S, has, set }) => {
    const s = S(0);
    const starts = t.staticInts(ins[1], 'Slice starts');
    const ends = t.staticInts(ins[2], 'Slice ends');
    const axes = has(3) ? t.staticInts(ins[3], 'Slice axes') : undefined;
    const steps = has(4) ? t.staticInts(ins[4], 'Slice steps') : undefined;
    const out = [...s];
    const ranges = sliceRanges(s, starts, ends, axes, steps);
    for (const r of ranges) out[r.axis] = r.end - r.start;
    const v = t.ints(ins[0]);
    set(0, out, v && s.length === 1 ? v.slice(ranges[0].start, ranges[0].end) : undefined);
  },
  Pad: ({ ins, t, S, set }) => {
    const s = S(0);
    const pads = t.staticInts(ins[1], 'Pad pads');
    set(0, s.map((d, i) => (typeof d === 'number' ? d + pads[i] + pads[i + s.length] : d)));
  },
  Gather: ({ node, ins, t, S, set }) => {
    const s = S(0);
    const axis = normAxis(intAttr(node, 'axis', 0), s.length);
    const v = t.ints(ins[0]);
    const iv = t.ints(ins[1]);
    const gathered = v && iv && s.length === 1 && iv.every((i) => typeof i === 'number') ? (iv as number[]).map((i) => v[i < 0 ? i + v.length : i]) : undefined;
    set(0, [...s.slice(0, axis), ...S(1), ...s.slice(axis + 1)], gathered);
  },
  Squeeze: ({ ins, t, S, has, set }) => {
    const s = S(0);
    const axes = has(1) ? t.staticInts(ins[1], 'Squeeze axes').map((a) => normAxis(a, s.length)) : s.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
    set(0, s.filter((_, i) => !axes.includes(i)), t.ints(ins[0]));
  },
  Unsqueeze: ({ ins, t, S, set }) => {
    const s = S(0);
    const rank = s.length + t.staticInts(ins[1], 'Unsqueeze axes').length;
    const axes = t.staticInts(ins[1], 'Unsqueeze axes').map((a) => normAxis(a, rank));
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) out.push(axes.includes(i) ? 1 : s[j++]);
    set(0, out, t.ints(ins[0]));
  },
  Expand: ({ ins, t, S, set }) => set(0, broadcastShapes(S(0), t.staticIntsOrSymbolic(ins[1]))),
};

/** Ops that make values (constants, shapes, ranges) and the remaining compute ops. */
const OTHER_RULES: Record<string, ShapeRule> = {
  Constant: ({ node, set }) => {
    const tensor = attrOf(node, 'value')!.t!;
    const dims = (tensor.dims ?? []).map(Number);
    set(0, dims, dims.length <= 1 ? constantInts(tensor) : undefined);
  },
  Shape: ({ S, set }) => set(0, [S(0).length], S(0)),
  ConstantOfShape: ({ ins, outs, t, set }) => {
    const v = t.ints(ins[0]);
    if (!v) throw new FarmerError('FARMER_E_INTERNAL', `ConstantOfShape '${outs[0]}' has no static shape input`);
    set(0, v);
  },
  Range: ({ ins, t, set }) => {
    const [a, b, c] = [0, 1, 2].map((i) => t.ints(ins[i])?.[0]);
    set(0, typeof a === 'number' && typeof b === 'number' && typeof c === 'number' ? [Math.max(Math.ceil((b - a) / c), 0)] : ['range']);
  },
  MatMul: ({ S, set }) => set(0, matMulShape(S(0), S(1))),
  ReduceSum: ({ node, ins, t, S, has, set }) => {
    const axes = has(1) ? t.staticInts(ins[1], 'ReduceSum axes') : undefined;
    set(0, reducedShape(S(0), axes, intAttr(node, 'keepdims', 1) === 1));
  },
  LayerNormalization: ({ node, outs, S, set }) => {
    const s = S(0);
    const axis = normAxis(intAttr(node, 'axis', -1), s.length);
    set(0, s);
    const stat = s.map((d, i) => (i >= axis ? 1 : d));
    for (let i = 1; i < outs.length; i++) if (outs[i]) set(i, stat);
  },
  OneHot: ({ ins, t, S, set }) => set(0, [...S(0), t.staticInts(ins[1], 'OneHot depth')[0]]),
};

/** The shape rule of every op the inference knows. */
const SHAPE_RULES: ReadonlyMap<string, ShapeRule> = new Map([
  ...UNARY_SAME.map((op) => [op, sameShape] as const),
  ...BROADCASTING.map((op) => [op, broadcasting] as const),
  ...REDUCE_ATTR_AXES.map((op) => [op, reduceByAttr] as const),
  ...Object.entries(LAYOUT_RULES),
  ...Object.entries(OTHER_RULES),
]);

/** Every op the shape inference knows. */
export const SHAPE_OPS: ReadonlySet<string> = new Set(SHAPE_RULES.keys());

/** Output shapes (and int values) of one node, from its inputs', by its op's rule. */
function inferNode(node: onnx.INodeProto, t: ShapeTable): void {
  const op = node.opType!;
  const rule = SHAPE_RULES.get(op);
  if (!rule) throw new FarmerError('FARMER_E_UNSUPPORTED', `op '${op}' (node ${node.name}) has no shape rule in the gradient builder`, { op });
  const ins = node.input ?? [];
  const outs = node.output ?? [];
  rule({
    node,
    op,
    ins,
    outs,
    t,
    S: (i) => t.shape(ins[i]),
    has: (i) => ins[i] !== undefined && ins[i] !== '',
    set: (i, shape, ints) => t.set(outs[i], shape, ints),
  });
}

/** Infers the shapes of every value of `g` (inputs, initializers, then each node in order). */
export function inferShapes(g: GraphBuilder): ShapeTable {
  const table = new ShapeTable();
  const proto = g.graphProto();
  for (const io of g.signature().inputs) table.set(io.name, io.shape);
  for (const init of proto.initializer ?? []) table.set(init.name!, (init.dims ?? []).map(Number));
  for (const node of proto.node ?? []) inferNode(node, table);
  return table;
}
