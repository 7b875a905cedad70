import type { Rng } from './rng.js';
import { tf } from './tf.js';

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Standard normal tensor of `shape` scaled by `std`, from `rng.normal` (the same draws). */
export function normalTensor(rng: Rng, shape: number[], std = 1): tf.Tensor {
  return tf.tensor(rng.normal(sizeOf(shape), 0, std), shape, 'float32');
}

/** Uniform [lo, hi) tensor of `shape`, from `rng.uniform` (the same draws). */
export function uniformTensor(rng: Rng, shape: number[], lo = 0, hi = 1): tf.Tensor {
  return tf.tensor(rng.uniform(sizeOf(shape), lo, hi), shape, 'float32');
}
