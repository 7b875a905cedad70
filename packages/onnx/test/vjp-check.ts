import { Rng } from '@farmer/core';
import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { appendGradients } from '../src/grad/append-gradients.js';
import { inferShapes } from '../src/grad/shape-inference.js';
import { attr, GraphBuilder, ONNX_IR_VERSION, ONNX_OPSET } from '../src/graph-builder.js';

const { onnx: proto } = onnxProto;

/** One op under test: float64 inputs to differentiate, optional int64 inputs, and the graph that applies the op. */
export interface OpCase {
  inputs: { shape: number[]; lo?: number; hi?: number }[];
  ints?: { shape: number[]; values: number[] }[];
  build: (g: GraphBuilder, xs: string[], ints: string[]) => string;
  /** A float64 host forward, for ops onnxruntime has no double kernel for (Erf, Softplus); its input order is `inputs`'. */
  host?: (xs: Float64Array[]) => Float64Array;
}

export interface VjpCheck {
  /** max |analytic − finite difference| over every element of every input. */
  maxError: number;
  /** max |finite difference|, the scale of the gradient. */
  scale: number;
}

const count = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Keeps only the nodes `outputs` depend on (onnxruntime refuses a node with no kernel even when unused). */
function pruned(g: GraphBuilder, outputs: string[]): onnx.IGraphProto {
  const graph = g.graphProto();
  const needed = new Set(outputs);
  const keep: onnx.INodeProto[] = [];
  for (const n of [...(graph.node ?? [])].reverse()) {
    if (!(n.output ?? []).some((o) => needed.has(o))) continue;
    keep.push(n);
    for (const i of n.input ?? []) needed.add(i);
  }
  return { ...graph, node: keep.reverse(), input: (graph.input ?? []).filter((i) => needed.has(i.name!)) };
}

async function session(graph: onnx.IGraphProto): Promise<ort.InferenceSession> {
  const model = proto.ModelProto.encode(proto.ModelProto.create({ irVersion: ONNX_IR_VERSION, opsetImport: [{ domain: '', version: ONNX_OPSET }], graph })).finish();
  return ort.InferenceSession.create(model, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
}

/**
 * Checks an op's VJP against central finite differences, all in float64:
 * loss = Σ y ⊙ r for a random r, gradients from `appendGradients` run on
 * onnxruntime's double kernels, and (L(x + h·e) − L(x − h·e)) / 2h per
 * element, with the forward on onnxruntime or on the host.
 */
export async function checkVjp(c: OpCase, seed: number, h = 1e-6): Promise<VjpCheck> {
  const rng = new Rng(`vjp-check:${seed}`);
  const g = new GraphBuilder('vjp_check');
  const xs = c.inputs.map((s, i) => g.input(`x${i}`, 'float64', s.shape));
  const ints = (c.ints ?? []).map((s, i) => g.input(`i${i}`, 'int64', s.shape));
  const y = c.build(g, xs, ints);
  const yShape = inferShapes(g).shape(y) as number[];
  const r = g.input('r', 'float64', yShape);
  const loss = g.op('ReduceSum', [g.op('Mul', [y, r])], [attr.int('keepdims', 0)]);
  const grads = appendGradients(g, loss, xs, { dtype: 'float64' });
  // One Identity per gradient: two inputs may share one gradient value (Add without broadcasting).
  const outNames = xs.map((x, i) => g.op('Identity', [grads.get(x)!], [], `grad${i}`));
  const io = (name: string, shape: number[]) => ({ name, type: { tensorType: { elemType: 11, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } });
  const gradSession = await session({ ...pruned(g, outNames), output: outNames.map((n, i) => io(n, c.inputs[i].shape)) });
  const ySession = c.host ? undefined : await session({ ...pruned(g, [y]), output: [io(y, yShape)] });

  const values = c.inputs.map((s) => Float64Array.from(rng.uniform(count(s.shape), s.lo ?? -1.5, s.hi ?? 1.5)));
  const weights = Float64Array.from(rng.normal(count(yShape), 0, 1));
  const intFeeds = Object.fromEntries((c.ints ?? []).map((s, i) => [ints[i], new ort.Tensor('int64', BigInt64Array.from(s.values.map(BigInt)), s.shape)]));
  const feeds = (vs: Float64Array[]) => ({ ...intFeeds, ...Object.fromEntries(vs.map((v, i) => [xs[i], new ort.Tensor('float64', v, c.inputs[i].shape)])) });
  const lossAt = async (vs: Float64Array[]): Promise<number> => {
    const out = c.host ? c.host(vs) : ((await ySession!.run(feeds(vs)))[y].data as Float64Array);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i] * weights[i];
    return s;
  };
  const analytic = await gradSession.run({ ...feeds(values), r: new ort.Tensor('float64', weights, yShape) });
  let maxError = 0;
  let scale = 0;
  for (let i = 0; i < values.length; i++) {
    const a = analytic[outNames[i]].data as Float64Array;
    for (let j = 0; j < values[i].length; j++) {
      const shifted = (d: number) => values.map((v, k) => (k === i ? Float64Array.from(v, (x, m) => (m === j ? x + d : x)) : v));
      const fd = ((await lossAt(shifted(h))) - (await lossAt(shifted(-h)))) / (2 * h);
      maxError = Math.max(maxError, Math.abs(a[j] - fd));
      scale = Math.max(scale, Math.abs(fd));
    }
  }
  await gradSession.release();
  await ySession?.release();
  return { maxError, scale };
}

/** erf in float64 by its Maclaurin series (|x| ≤ 3 here; the terms alternate, so the error is below the last term). */
export function erf64(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-18; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
