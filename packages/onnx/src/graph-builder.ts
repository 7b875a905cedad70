import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';
import { FarmerError } from '@farmer/core';

const { onnx: proto } = onnxProto;

/** The ONNX IR version and default-domain opset every farmer graph is written at. */
export const ONNX_IR_VERSION = 8;
/** The default-domain opset every farmer graph is written at. */
export const ONNX_OPSET = 17;

/** Element types the exported graphs use (TensorProto.DataType values). */
export const DTYPE = { float32: 1, int64: 7, bool: 9, float64: 11 } as const;
/** The name of an element type the exported graphs use. */
export type OnnxDtype = keyof typeof DTYPE;

/** A dimension: a fixed size, or a symbolic name ('batch', 'past'). */
export type Dim = number | string;

/** An input or output as recorded in the manifest. */
export interface IoSpec {
  name: string;
  dtype: OnnxDtype;
  shape: Dim[];
}

const ATTR = { FLOAT: 1, INT: 2, GRAPH: 5, INTS: 7 } as const;
const EXTERNAL = 1;

/** Attribute helpers: ONNX attributes are typed, so the type is explicit. */
export const attr = {
  int: (name: string, i: number): onnx.IAttributeProto => ({ name, type: ATTR.INT, i }),
  float: (name: string, f: number): onnx.IAttributeProto => ({ name, type: ATTR.FLOAT, f }),
  ints: (name: string, ints: number[]): onnx.IAttributeProto => ({ name, type: ATTR.INTS, ints }),
  graph: (name: string, g: onnx.IGraphProto): onnx.IAttributeProto => ({ name, type: ATTR.GRAPH, g }),
};

function valueInfo(io: IoSpec): onnx.IValueInfoProto {
  const dim = io.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: io.name, type: { tensorType: { elemType: DTYPE[io.dtype], shape: { dim } } } };
}

/** Renames a value wherever nodes (and their subgraphs) read it. */
function renameInputs(nodes: onnx.INodeProto[], from: string, to: string): void {
  for (const n of nodes) {
    n.input = n.input?.map((i) => (i === from ? to : i));
    for (const a of n.attribute ?? []) if (a.g?.node) renameInputs(a.g.node, from, to);
  }
}

/** Where a weight sits in its weights file. */
interface WeightEntry {
  offset: number;
  length: number;
  dims: number[];
}

/** Byte alignment of every tensor in a weights file. */
const WEIGHT_ALIGN = 64;

/**
 * One external-data file (ONNX `data_location = EXTERNAL`): raw little-endian
 * float32 tensors, each 64-byte aligned. Several graphs reference the same
 * file (the AF forward and its per-block reverse steps share `flow.weights`),
 * so weights are stored once on disk, and a model is not bound by
 * protobuf's 2 GB limit.
 */
export class WeightsFile {
  private readonly entries = new Map<string, WeightEntry>();
  private readonly chunks: { offset: number; data: Float32Array }[] = [];
  private size = 0;

  constructor(readonly fileName: string) {}

  /** Adds (once per name; `values` is read only then) a float32 tensor; returns its TensorProto referencing this file. */
  tensor(name: string, values: Float32Array | (() => Float32Array), dims: number[]): onnx.ITensorProto {
    let e = this.entries.get(name);
    if (!e) {
      const data = typeof values === 'function' ? values() : values;
      const count = dims.reduce((a, b) => a * b, 1);
      if (count !== data.length) throw new FarmerError('FARMER_E_INTERNAL', `weight ${name}: ${data.length} values for dims [${dims}]`);
      const offset = Math.ceil(this.size / WEIGHT_ALIGN) * WEIGHT_ALIGN;
      e = { offset, length: data.byteLength, dims };
      this.chunks.push({ offset, data: Float32Array.from(data) });
      this.size = offset + data.byteLength;
      this.entries.set(name, e);
    } else if (e.dims.join() !== dims.join()) {
      throw new FarmerError('FARMER_E_INTERNAL', `weight ${name} added with dims [${dims}] and [${e.dims}]`);
    }
    return {
      name,
      dims: e.dims,
      dataType: DTYPE.float32,
      dataLocation: EXTERNAL,
      externalData: [
        { key: 'location', value: this.fileName },
        { key: 'offset', value: String(e.offset) },
        { key: 'length', value: String(e.length) },
      ],
    };
  }

  /** The file's bytes (little-endian float32, as ONNX external data requires). */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    const view = new DataView(out.buffer);
    for (const { offset, data } of this.chunks) for (let i = 0; i < data.length; i++) view.setFloat32(offset + 4 * i, data[i], true);
    return out;
  }
}

/**
 * Builds one ONNX graph node by node. Values are named by the caller's
 * prefix plus a counter, so a node in a dumped graph can be traced back to
 * the builder call (and the docs/method.md section) that made it.
 */
export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers = new Map<string, onnx.ITensorProto>();
  private readonly inputs: IoSpec[] = [];
  private readonly outputs: IoSpec[] = [];
  /** Values renamed to output names. */
  private readonly renamed = new Map<string, string>();
  private readonly counter: { n: number };

  constructor(
    readonly name: string,
    private readonly weights?: WeightsFile,
    counter?: { n: number },
    private readonly parent?: GraphBuilder,
  ) {
    this.counter = counter ?? { n: 0 };
  }

  /** A fresh value name. */
  fresh(hint: string): string {
    return `${hint}#${this.counter.n++}`;
  }

  input(name: string, dtype: OnnxDtype, shape: Dim[]): string {
    this.inputs.push({ name, dtype, shape });
    return name;
  }

  /**
   * Declares `value` as graph output `name`. A value computed by a node of
   * this graph is renamed (an Identity would copy it on every run); a graph
   * input or an outer-scope value goes through an Identity.
   */
  output(name: string, value: string, dtype: OnnxDtype, shape: Dim[]): void {
    value = this.renamed.get(value) ?? value;
    const producer = this.nodes.find((n) => n.output?.includes(value));
    const isOutput = this.outputs.some((o) => o.name === value);
    if (value === name) {
      // already named
    } else if (producer && !isOutput) {
      producer.output = producer.output!.map((o) => (o === value ? name : o));
      renameInputs(this.nodes, value, name);
      this.renamed.set(value, name);
    } else {
      this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: this.fresh(`out.${name}`) });
    }
    this.outputs.push({ name, dtype, shape });
  }

  /** An external float32 weight (shared through the weights file); its name is the initializer name. */
  weight(name: string, data: Float32Array | (() => Float32Array), dims: number[]): string {
    if (this.parent) return this.parent.weight(name, data, dims);
    if (!this.weights) throw new FarmerError('FARMER_E_INTERNAL', `graph ${this.name} has no weights file`);
    if (!this.initializers.has(name)) this.initializers.set(name, this.weights.tensor(name, data, dims));
    return name;
  }

  /** A small embedded float constant (float32 unless asked; float64 serves the gradient checks). */
  floats(values: ArrayLike<number>, dims: number[], hint = 'c', dtype: 'float32' | 'float64' = 'float32'): string {
    const name = this.fresh(hint);
    const size = dtype === 'float64' ? 8 : 4;
    const raw = new Uint8Array(values.length * size);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < values.length; i++) {
      if (dtype === 'float64') view.setFloat64(8 * i, values[i], true);
      else view.setFloat32(4 * i, values[i], true);
    }
    this.constant({ name, dims, dataType: DTYPE[dtype], rawData: raw });
    return name;
  }

  /** A boolean scalar constant. */
  bool(v: boolean, hint = 'b'): string {
    const name = this.fresh(hint);
    this.constant({ name, dims: [], dataType: DTYPE.bool, rawData: new Uint8Array([v ? 1 : 0]) });
    return name;
  }

  /** A small embedded int64 constant (shape vectors, axes, indices). dims [] is a scalar. */
  int64s(values: number[], dims: number[] = [values.length], hint = 'i'): string {
    const name = this.fresh(hint);
    const raw = new Uint8Array(values.length * 8);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < values.length; i++) view.setBigInt64(8 * i, BigInt(values[i]), true);
    this.constant({ name, dims, dataType: DTYPE.int64, rawData: raw });
    return name;
  }

  private constant(t: onnx.ITensorProto): void {
    // Subgraphs hold constants as Constant nodes (their initializers would shadow nothing, but keep them local and explicit).
    this.nodes.push({ opType: 'Constant', input: [], output: [t.name!], name: this.fresh('const'), attribute: [{ name: 'value', type: 4, t }] });
  }

  /** Adds a node; returns its single output. */
  op(opType: string, inputs: string[], attributes: onnx.IAttributeProto[] = [], hint = opType): string {
    return this.opN(opType, inputs, 1, attributes, hint)[0];
  }

  /** Adds a node with `n` outputs. */
  opN(opType: string, inputs: string[], n: number, attributes: onnx.IAttributeProto[] = [], hint = opType): string[] {
    const output = Array.from({ length: n }, () => this.fresh(hint));
    this.nodes.push({ opType, input: inputs, output, attribute: attributes, name: this.fresh(`n.${hint}`) });
    return output;
  }

  /** A subgraph (for If and Loop) that shares this graph's naming counter and weights, and may read its values. */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, undefined, this.counter, this);
  }

  /** This graph as a GraphProto. */
  graphProto(): onnx.IGraphProto {
    return {
      name: this.name,
      node: this.nodes,
      initializer: [...this.initializers.values()],
      input: this.inputs.map(valueInfo),
      output: this.outputs.map(valueInfo),
    };
  }

  /** Inputs and outputs as recorded in the manifest. */
  signature(): { inputs: IoSpec[]; outputs: IoSpec[] } {
    return { inputs: this.inputs.map((x) => ({ ...x })), outputs: this.outputs.map((x) => ({ ...x })) };
  }

  /** The serialised ModelProto (IR 8, opset 17). */
  encode(docString = ''): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'farmer-ts @farmer/onnx',
      producerVersion: '1',
      docString,
      graph: this.graphProto(),
    };
    return proto.ModelProto.encode(proto.ModelProto.create(model)).finish();
  }
}
