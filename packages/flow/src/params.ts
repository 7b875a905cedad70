import { normalTensor, ParamStore, type Rng, tf, uniformTensor } from '@farmer/core';
import { flowDims, type FlowConfig } from './config.js';
import { layerShapes } from './transformer.js';

/** PyTorch-layout shapes of every AF weight (docs/method.md §9.2 weight names), without allocating. */
export function flowParamShapes(c: FlowConfig): Record<string, number[]> {
  const { numTokens: N, tokenDim: d } = flowDims(c);
  const W = c.width;
  const out: Record<string, number[]> = {};
  for (let t = 0; t < c.numBlocks; t++) {
    const b = `blocks.${t}.`;
    out[`${b}proj_in.weight`] = [W, d];
    out[`${b}proj_in.bias`] = [W];
    out[`${b}pos_embed`] = [N, W];
    if (c.numClasses > 0) out[`${b}class_embed`] = [c.numClasses, 1, W];
    for (let l = 0; l < c.layersPerBlock; l++) Object.assign(out, layerShapes(`${b}attn_blocks.${l}.`, W));
    // Volume-preserving blocks predict μ only (as TARFlow's nvp=False): W → d.
    out[`${b}proj_out.weight`] = [c.nvp ? 2 * d : d, W];
    out[`${b}proj_out.bias`] = [c.nvp ? 2 * d : d];
  }
  return out;
}

/**
 * Fresh AF weights: Linear weights U(±1/√fan_in) (PyTorch's default), biases 0, LayerNorm
 * (1, 0), pos/class embeddings 0.01·N(0,1), and `proj_out` all zero so that
 * a new flow is the identity with logdet 0.
 */
export function initFlowParams(c: FlowConfig, rng: Rng): ParamStore {
  const store = new ParamStore(flowParamShapes(c));
  return store.initialise((name, shape) => initTensor(name, shape, store.shapes[name], rng));
}

/** The shared init rule for AF and AR weights (by name). `torch` is the PyTorch-layout shape. */
export function initTensor(name: string, shape: number[], torch: number[], rng: Rng): tf.Tensor {
  if (/proj_out\.(weight|bias)$/.test(name)) return tf.zeros(shape);
  if (/norm\.weight$/.test(name)) return tf.ones(shape);
  if (/norm\.bias$/.test(name)) return tf.zeros(shape);
  if (/(pos_embed|class_embed)$/.test(name)) return normalTensor(rng, shape, 0.01);
  const fanIn = /\.weight$/.test(name) ? torch[1] : undefined;
  if (fanIn !== undefined) {
    const bound = 1 / Math.sqrt(fanIn);
    return uniformTensor(rng, shape, -bound, bound);
  }
  return tf.zeros(shape);
}
