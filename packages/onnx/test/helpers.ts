import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FarmerModel, parseFarmerConfig, type FarmerConfigInput } from '@farmer/ar-gmm';
import { Rng } from '@farmer/core';
import { randomize } from '@farmer/test-utils';

/** A FARMER model with random weights everywhere (AF included). */
export function randomModel(config: FarmerConfigInput, seed: number): FarmerModel {
  const model = FarmerModel.create(parseFarmerConfig(config), seed);
  randomize(model.flow.params, seed * 2 + 1, { scale: 0.1, projOut: 0.05, stream: 'onnx-randomize' });
  randomize(model.ar.params, seed * 2 + 2, { scale: 0.1, projOut: 0.02, stream: 'onnx-randomize' });
  return model;
}

export async function tempDir(tag: string): Promise<string> {
  return fs.mkdtemp(join(tmpdir(), `farmer-onnx-${tag}-`));
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
