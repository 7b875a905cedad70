import { ParamStore, Rng, tf } from '@farmer/core';
import { initTensor, layerShapes } from '@farmer/flow';
import { farmerDims, type FarmerConfig } from './config.js';

/** PyTorch-layout shapes of every AR weight (docs/method.md §9.2 weight names, without the `ar.` prefix). */
export function arParamShapes(c: FarmerConfig): Record<string, number[]> {
  const { dI, seqLen, headInformative, headRedundant } = farmerDims(c);
  const D = c.ar.width;
  const out: Record<string, number[]> = {
    class_embed: [c.numClasses + 1, D],
    'proj_in.weight': [D, dI],
    'proj_in.bias': [D],
    pos_embed: [seqLen, D],
  };
  for (let l = 0; l < c.ar.layers; l++) Object.assign(out, layerShapes(`layers.${l}.`, D));
  out['norm.weight'] = [D];
  out['norm.bias'] = [D];
  out['head_informative.weight'] = [headInformative, D];
  out['head_informative.bias'] = [headInformative];
  if (headRedundant) {
    out['head_redundant.weight'] = [headRedundant, D];
    out['head_redundant.bias'] = [headRedundant];
  }
  return out;
}

/** softplus⁻¹(y) = log(e^y − 1). */
const softplusInv = (y: number) => Math.log(Math.expm1(y));

/** Initial σ of every component; latents start as pixels in [-1, 1]. */
export const INITIAL_SIGMA = 0.5;
/** Spread of the initial component means, which breaks the symmetry between components. */
export const INITIAL_MEAN_SPREAD = 0.5;

/**
 * Fresh AR weights. Backbone as the AF (flow's `initTensor`). Heads: weights
 * at 0.1× the default Linear init; bias = [logits 0 | means ~ N(0, 0.5²) |
 * σ pre-activations at softplus⁻¹(0.5 − σ_min)], so components start distinct
 * (identical components would receive identical gradients forever) with σ = 0.5.
 */
export function initArParams(c: FarmerConfig, rng: Rng): ParamStore {
  const store = new ParamStore(arParamShapes(c));
  const { dI, dR } = farmerDims(c);
  return store.initialise((name, shape) => {
    const head = /^head_(informative|redundant)\.(weight|bias)$/.exec(name);
    if (!head) return initTensor(name, shape, store.shapes[name], rng);
    if (head[2] === 'weight') return tf.tidy(() => tf.mul(initTensor(name, shape, store.shapes[name], rng), 0.1));
    const [k, dim] = head[1] === 'informative' ? [c.ar.componentsInformative, dI] : [c.ar.componentsRedundant, dR];
    const bias = new Float32Array(k * (1 + 2 * dim));
    bias.set(rng.normal(k * dim, 0, INITIAL_MEAN_SPREAD), k);
    bias.fill(softplusInv(INITIAL_SIGMA - c.ar.sigmaMin), k + k * dim);
    return tf.tensor1d(bias);
  });
}
