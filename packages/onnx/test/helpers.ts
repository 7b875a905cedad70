import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmerModel, parseFarmerConfig, type FarmerConfigInput } from '@farmer/ar-gmm';
import { type ParamStore, Rng, tf } from '@farmer/core';

/**
 * Perturbs every weight of a store (proj_out by `projOut`, so the AF is not
 * the identity yet stays well-conditioned; LayerNorm scales around 1).
 */
export function randomize(store: ParamStore, seed: number, opts: { scale?: number; projOut?: number } = {}): void {
  const rng = new Rng(`onnx-randomize:${seed}`);
  for (const name of store.names()) {
    const std = /proj_out/.test(name) ? (opts.projOut ?? 0.02) : /norm\.weight/.test(name) ? 0.1 : (opts.scale ?? 0.1);
    const v = store.get(name);
    const t = tf.tidy(() => tf.add(v, rng.normalTensor(v.shape, std)));
    v.assign(t);
    t.dispose();
  }
}

/** A FARMER model with random weights everywhere (AF included). */
export function randomModel(config: FarmerConfigInput, seed: number): FarmerModel {
  const model = FarmerModel.create(parseFarmerConfig(config), seed);
  randomize(model.flow.params, seed * 2 + 1, { projOut: 0.05 });
  randomize(model.ar.params, seed * 2 + 2);
  return model;
}

export async function tempDir(tag: string): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), `farmer-onnx-${tag}-`));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Max |a − b| / (1 + |b|): absolute near 0, relative for large values. */
export function maxScaledDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}

/** Random NCHW images in [-1, 1]. */
export function randomImages(batch: number, channels: number, size: number, seed: number): Float32Array {
  return new Rng(`onnx-images:${seed}`).uniform(batch * channels * size * size, -1, 1);
}
