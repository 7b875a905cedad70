import { describe, expect, it } from 'vitest';
import { attr, type GraphBuilder } from '../src/graph-builder.js';
import { checkVjp, erf64, type OpCase } from './vjp-check.js';

/**
 * Every op's vector-Jacobian product against central finite differences
 * (h = 1e-6), in float64 end to end: onnxruntime's double kernels run the
 * gradient graph, and the forward for the differences (the host's for Erf
 * and Softplus, which have float32 kernels only). Tolerance:
 * max|analytic − FD| ≤ 1e-6·max(1, max|FD|); the FD error itself is
 * about 1e-9 here (h² truncation plus 1e-16/h rounding).
 */
const TOL = 1e-6;

const op = (name: string, attrs: ReturnType<typeof attr.int>[] = []) => (g: GraphBuilder, xs: string[]) => g.op(name, xs, attrs);
const ints = (g: GraphBuilder, v: number[]) => g.int64s(v);

const CASES: Record<string, OpCase> = {
  'MatMul [3,4]·[4,5]': { inputs: [{ shape: [3, 4] }, { shape: [4, 5] }], build: op('MatMul') },
  'MatMul Linear [2,3,4]·[4,5]': { inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }], build: op('MatMul') },
  'MatMul batched [2,2,3,4]·[2,2,4,3]': { inputs: [{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 4, 3] }], build: op('MatMul') },
  'MatMul broadcast batch [2,1,3,4]·[3,4,2]': { inputs: [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }], build: op('MatMul') },
  'MatMul [3,4]·[2,4,5] (rank-2 left)': { inputs: [{ shape: [3, 4] }, { shape: [2, 4, 5] }], build: op('MatMul') },
  'Add broadcast [2,3,4]+[4]': { inputs: [{ shape: [2, 3, 4] }, { shape: [4] }], build: op('Add') },
  'Add broadcast [2,1,4]+[3,1]': { inputs: [{ shape: [2, 1, 4] }, { shape: [3, 1] }], build: op('Add') },
  'Add same shape': { inputs: [{ shape: [2, 3] }, { shape: [2, 3] }], build: op('Add') },
  'Sub broadcast [2,3,4]−[2,3,1]': { inputs: [{ shape: [2, 3, 4] }, { shape: [2, 3, 1] }], build: op('Sub') },
  'Mul broadcast [2,3,4]·[1,3,1]': { inputs: [{ shape: [2, 3, 4] }, { shape: [1, 3, 1] }], build: op('Mul') },
  'Mul x·x (one value, two consumers)': { inputs: [{ shape: [2, 3] }], build: (g, [x]) => g.op('Mul', [x, x]) },
  'Div broadcast [2,3,4]/[4]': { inputs: [{ shape: [2, 3, 4] }, { shape: [4], lo: 0.5, hi: 2 }], build: op('Div') },
  'Sum of three, broadcast': { inputs: [{ shape: [2, 3] }, { shape: [3] }, { shape: [2, 1] }], build: op('Sum') },
  Neg: { inputs: [{ shape: [2, 3] }], build: op('Neg') },
  Exp: { inputs: [{ shape: [2, 3] }], build: op('Exp') },
  Log: { inputs: [{ shape: [2, 3], lo: 0.5, hi: 2 }], build: op('Log') },
  Tanh: { inputs: [{ shape: [2, 3] }], build: op('Tanh') },
  Sigmoid: { inputs: [{ shape: [2, 3] }], build: op('Sigmoid') },
  Erf: { inputs: [{ shape: [2, 3] }], build: op('Erf'), host: ([x]) => x.map(erf64) },
  Softplus: { inputs: [{ shape: [2, 3], lo: -4, hi: 4 }], build: op('Softplus'), host: ([x]) => x.map((v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)))) },
  Identity: { inputs: [{ shape: [2, 3] }], build: op('Identity') },
  'Softmax axis -1': { inputs: [{ shape: [2, 3, 4] }], build: op('Softmax', [attr.int('axis', -1)]) },
  'Softmax axis 1': { inputs: [{ shape: [2, 3, 4] }], build: op('Softmax', [attr.int('axis', 1)]) },
  LogSoftmax: { inputs: [{ shape: [2, 3, 4] }], build: op('LogSoftmax', [attr.int('axis', -1)]) },
  'ReduceLogSumExp keepdims 0': { inputs: [{ shape: [2, 3, 4] }], build: op('ReduceLogSumExp', [attr.ints('axes', [2]), attr.int('keepdims', 0)]) },
  'ReduceLogSumExp keepdims 1, two axes': { inputs: [{ shape: [2, 3, 4] }], build: op('ReduceLogSumExp', [attr.ints('axes', [0, 2]), attr.int('keepdims', 1)]) },
  'LayerNormalization axis -1 (x, w, b)': {
    inputs: [{ shape: [2, 3, 5] }, { shape: [5] }, { shape: [5] }],
    build: op('LayerNormalization', [attr.int('axis', -1), attr.float('epsilon', 1e-5)]),
  },
  'LayerNormalization axis 1': { inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4] }, { shape: [3, 4] }], build: op('LayerNormalization', [attr.int('axis', 1), attr.float('epsilon', 1e-3)]) },
  Transpose: { inputs: [{ shape: [2, 3, 4] }], build: op('Transpose', [attr.ints('perm', [2, 0, 1])]) },
  'Reshape with 0 and -1': { inputs: [{ shape: [2, 3, 4] }], build: (g, [x]) => g.op('Reshape', [x, ints(g, [0, -1, 2])]) },
  'Split, one output unused': { inputs: [{ shape: [2, 6] }], build: (g, [x]) => g.opN('Split', [x, ints(g, [2, 4])], 2, [attr.int('axis', 1)])[1] },
  'Split, both outputs used': {
    inputs: [{ shape: [2, 6] }],
    build: (g, [x]) => {
      const [a, b] = g.opN('Split', [x, ints(g, [3, 3])], 2, [attr.int('axis', 1)]);
      return g.op('Mul', [a, b]);
    },
  },
  Concat: { inputs: [{ shape: [2, 2, 3] }, { shape: [2, 1, 3] }], build: op('Concat', [attr.int('axis', 1)]) },
  'Slice axis 1 [1, -1)': { inputs: [{ shape: [2, 5, 3] }], build: (g, [x]) => g.op('Slice', [x, ints(g, [1]), ints(g, [-1]), ints(g, [1])]) },
  'Slice two axes': { inputs: [{ shape: [4, 5] }], build: (g, [x]) => g.op('Slice', [x, ints(g, [0, 2]), ints(g, [3, 5]), ints(g, [0, 1])]) },
  Pad: { inputs: [{ shape: [2, 3, 2] }], build: (g, [x]) => g.op('Pad', [x, ints(g, [0, 1, 0, 0, 2, 1])]) },
  'Gather flip (constant permutation) axis 1': { inputs: [{ shape: [2, 4, 3] }], build: (g, [x]) => g.op('Gather', [x, ints(g, [3, 2, 1, 0])], [attr.int('axis', 1)]) },
  'Gather flip axis 0': { inputs: [{ shape: [4, 3] }], build: (g, [x]) => g.op('Gather', [x, ints(g, [3, 2, 1, 0])], [attr.int('axis', 0)]) },
  'Gather constant rows with repeats': { inputs: [{ shape: [4, 3] }], build: (g, [x]) => g.op('Gather', [x, ints(g, [1, 1, 3])], [attr.int('axis', 0)]) },
  'Gather table rows by an index input (repeats)': {
    inputs: [{ shape: [5, 3] }],
    ints: [{ shape: [4], values: [4, 1, 4, 0] }],
    build: (g, [x], [i]) => g.op('Gather', [x, i], [attr.int('axis', 0)]),
  },
  'Gather table rows by 2-D indices': {
    inputs: [{ shape: [5, 2, 3] }],
    ints: [{ shape: [2, 3], values: [0, 4, 4, 2, 1, 0] }],
    build: (g, [x], [i]) => g.op('Gather', [x, i], [attr.int('axis', 0)]),
  },
  'ReduceSum keepdims 0': { inputs: [{ shape: [2, 3, 4] }], build: (g, [x]) => g.op('ReduceSum', [x, ints(g, [1, 2])], [attr.int('keepdims', 0)]) },
  'ReduceSum keepdims 1': { inputs: [{ shape: [2, 3, 4] }], build: (g, [x]) => g.op('ReduceSum', [x, ints(g, [0])], [attr.int('keepdims', 1)]) },
  'ReduceSum all axes': { inputs: [{ shape: [2, 3] }], build: (g, [x]) => g.op('ReduceSum', [x], [attr.int('keepdims', 0)]) },
  'ReduceMean keepdims 0': { inputs: [{ shape: [3, 1, 4] }], build: op('ReduceMean', [attr.ints('axes', [0]), attr.int('keepdims', 0)]) },
  'ReduceMean keepdims 1': { inputs: [{ shape: [2, 3, 4] }], build: op('ReduceMean', [attr.ints('axes', [-1]), attr.int('keepdims', 1)]) },
  Squeeze: { inputs: [{ shape: [2, 1, 3] }], build: (g, [x]) => g.op('Squeeze', [x, ints(g, [1])]) },
  Unsqueeze: { inputs: [{ shape: [2, 3] }], build: (g, [x]) => g.op('Unsqueeze', [x, ints(g, [0, 2])]) },
  Expand: { inputs: [{ shape: [3, 1] }], build: (g, [x]) => g.op('Expand', [x, ints(g, [2, 3, 4])]) },
  'Where with a constant (causal) condition': {
    inputs: [{ shape: [2, 4, 4] }, { shape: [4, 4] }],
    build: (g, [a, b]) => {
      const r = g.op('Range', [g.int64s([0], []), g.int64s([4], []), g.int64s([1], [])]);
      const cond = g.op('Greater', [g.op('Unsqueeze', [r, ints(g, [0])]), g.op('Unsqueeze', [r, ints(g, [1])])]);
      return g.op('Where', [cond, a, b]);
    },
  },
};

describe('each op\'s VJP equals central finite differences (float64)', () => {
  let seed = 0;
  for (const [name, c] of Object.entries(CASES)) {
    const s = seed++;
    it(name, async () => {
      const { maxError, scale } = await checkVjp(c, s);
      expect(scale, 'the check needs a non-zero gradient').toBeGreaterThan(1e-3);
      expect(maxError).toBeLessThanOrEqual(TOL * Math.max(1, scale));
    });
  }

  it('the host erf matches known values (the reference for Erf)', () => {
    expect(erf64(1)).toBeCloseTo(0.8427007929497149, 14);
    expect(erf64(-0.5)).toBeCloseTo(-0.5204998778130465, 14);
    expect(erf64(1.5)).toBeCloseTo(0.9661051464753108, 14);
  });
});
