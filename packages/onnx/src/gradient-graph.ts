import { farmerDims, parseFarmerConfig, type FarmerConfig, type FarmerConfigInput } from '@farmer/ar-gmm';
import { appendGradients, unsupportedOps } from './grad/append-gradients.js';
import { farmerNllGraph } from './farmer-nll-graph.js';
import { attr, GraphBuilder, type Dim } from './graph-builder.js';
import { inputParams, scalar, type ParamSpec } from './graph-ops.js';
import { BATCH } from './io-names.js';
import { farmerParamSpecs } from './param-specs.js';

/** Output names of the gradient graph. */
export const GRADIENT_OUTPUTS = {
  loss: 'loss',
  logdetPerDim: 'logdet_per_dim',
  /** The output name of the gradient of parameter `param`. */
  grad: (param: string) => `grad.${param}`,
} as const;

/** Options of {@link buildFarmerGradientGraph}. */
export interface GradientGraphOptions {
  /** A static batch size; default symbolic (one graph for every batch size). */
  batch?: number;
}

/** The training graph: the loss and the gradient of every parameter. */
export interface GradientGraph {
  graph: GraphBuilder;
  /** Parameter inputs, in `FarmerModel.variables()` order; grads come back in the same order. */
  params: ParamSpec[];
}

/** The loss part of the training graph: inputs declared, `loss` and `logdet_per_dim` computed (not yet outputs). */
function lossGraph(c: FarmerConfig, batch: Dim): { g: GraphBuilder; params: ParamSpec[]; loss: string; logdetPerDim: string } {
  const { numTokens: N, tokenDim: d } = farmerDims(c);
  const g = new GraphBuilder('farmer_train_step');
  const params = farmerParamSpecs(c);
  const p = inputParams(g, params);
  const images = g.input('images', 'float32', [batch, c.flow.inChannels, c.flow.imageSize, c.flow.imageSize]);
  const classRow = g.input('class_row', 'int64', [batch]);
  const nll = farmerNllGraph(g, p, c, images, classRow);
  const mean = (x: string) => g.op('ReduceMean', [x], [attr.ints('axes', [0]), attr.int('keepdims', 0)]);
  return { g, params, loss: mean(nll.nllPerDim), logdetPerDim: g.op('Mul', [mean(nll.logdet), scalar(g, 1 / (N * d))]) };
}

/**
 * One training step of FARMER as an ONNX graph (for onnxruntime, which
 * has no training API): parameters are inputs named by their checkpoint
 * names (in-memory layout, Linear weights [in, out]), plus images
 * [B, C, H, W] float32 (noised on the host, in [-1, 1]) and class_row [B]
 * int64. Outputs: `loss`, the batch mean of the NLL per dim
 * (docs/method.md §5.1 joint loss); `logdet_per_dim`, the batch mean of Σ log|det| / (N·d); and
 * `grad.<name>`, d loss / d parameter, for every parameter.
 *
 * Throws FARMER_E_UNSUPPORTED naming any op the gradient builder cannot
 * differentiate.
 */
export function buildFarmerGradientGraph(config: FarmerConfig | FarmerConfigInput, options: GradientGraphOptions = {}): GradientGraph {
  const c = parseFarmerConfig(config);
  const { g, params, loss, logdetPerDim } = lossGraph(c, options.batch ?? BATCH);
  const grads = appendGradients(g, loss, params.map((s) => s.name));
  g.output(GRADIENT_OUTPUTS.loss, loss, 'float32', []);
  g.output(GRADIENT_OUTPUTS.logdetPerDim, logdetPerDim, 'float32', []);
  for (const s of params) g.output(GRADIENT_OUTPUTS.grad(s.name), grads.get(s.name)!, 'float32', s.shape);
  return { graph: g, params };
}

/** Whether the onnxruntime gradient builder covers a config, checked without building a session. */
export interface GradientCoverage {
  supported: boolean;
  /** Op types on the gradient path without a vector-Jacobian rule. */
  unsupportedOps: string[];
}

/** Checks, from the config alone, that every op of its training graph has a gradient rule. */
export function farmerGradientCoverage(config: FarmerConfig | FarmerConfigInput): GradientCoverage {
  const c = parseFarmerConfig(config);
  const { g, params, loss } = lossGraph(c, BATCH);
  const missing = unsupportedOps(g, loss, params.map((s) => s.name));
  return { supported: missing.length === 0, unsupportedOps: missing };
}
