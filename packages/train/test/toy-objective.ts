import { makeCheckpointConfig, makeDataset, ParamStore, Rng, tf, u8ToFloatNCHW, type ImageDataset } from '@farmer/core';
import { loopConfigFields, tfEngine, type LoopSettings, type Objective, type ObjectiveTypes } from '../src/index.js';
import { z } from 'zod';

/** A least-squares regression of pixel means: small, exact and fast, so the run's mechanics can be tested on their own. */
export interface ToyTypes extends ObjectiveTypes {
  config: LoopSettings;
  batch: { x: Float32Array; count: number };
  figures: { target: number };
  step: { target: number };
  eval: { testLoss: number };
}

/** The toy objective and the store it owns. */
export interface ToyObjective extends Objective<ToyTypes> {
  store: ParamStore;
  dispose(): void;
}

export const toyConfigSchema = z.object({ ...loopConfigFields }).strict();

export const PIXELS = 16;

/** Random 4×4 grey images with two classes. */
export function toyData(count: number, seed: number, split: 'train' | 'test' = 'train'): ImageDataset {
  const rng = new Rng(`toy:${seed}`);
  const data = Uint8Array.from(rng.uniform(count * PIXELS, 0, 256), (v) => Math.floor(v));
  return makeDataset({
    name: 'toy',
    split,
    images: { data, count, channels: 1, height: 4, width: 4 },
    labels: Int32Array.from({ length: count }, (_, i) => i % 2),
    numClasses: 2,
    classNames: ['a', 'b'],
  });
}

/**
 * loss = mean_b (x_b·w + c − 0.5)² with x_b the image in [-1, 1]: w [16, 1]
 * (rank 2, so AdamW decays it) and c [1] (not decayed).
 */
export function toyObjective(config: LoopSettings, seed = 0): ToyObjective {
  const store = new ParamStore({ w: [PIXELS, 1], c: [1] }).initialise((name, shape) => tf.randomNormal(shape, 0, 0.1, 'float32', seed + name.length));
  const vars = store.variables();
  const loss = (x: tf.Tensor2D) => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, vars[0]), vars[1]), 0.5))) as tf.Scalar;
  return {
    store,
    id: 'toy',
    config,
    params: [
      { name: 'w', shape: [PIXELS, 1] },
      { name: 'c', shape: [1] },
    ],
    parts: { weights: 'model', optimizer: 'optimizer', ema: 'ema' },
    dataFit: { channels: 1, size: 4, numClasses: 2, subject: 'model', hint: 'use toy data' },
    prepare: (batch, rng) => {
      const x = u8ToFloatNCHW(batch.images);
      // One draw per step, so the RNG state matters for an exact resume.
      const jitter = rng.normal(x.length);
      for (let i = 0; i < x.length; i++) x[i] += 0.01 * jitter[i];
      return { x, count: batch.images.count };
    },
    batchSize: (b) => b.count,
    stepFields: (_, f) => ({ target: f.target }),
    values: () => store.values(),
    load: (v) => store.setValues(v),
    // Stored as 'weight'-less names, so no transpose: the toy keeps its own layout on disk.
    toTensorMap: (v) => ParamStore.hostTensorMap(store.shapes, v),
    fromTensorMap: (map, file) => ParamStore.hostValues(store.shapes, map, file),
    evaluate: async (test) => {
      const x = tf.tensor2d(u8ToFloatNCHW(test.images), [test.images.count, PIXELS]);
      const l = loss(x);
      const testLoss = l.dataSync()[0];
      tf.dispose([x, l]);
      return { testLoss };
    },
    checkpoint: (training) => ({ config: makeCheckpointConfig('toy', { pixels: PIXELS }, { training }) }),
    defaultEngine: () =>
      tfEngine({
        variables: vars,
        lossAndGrads: (b) => {
          const { value, grads } = tf.variableGrads(() => tf.tidy(() => loss(tf.tensor2d(b.x, [b.count, PIXELS]))), vars);
          const l = value.dataSync()[0];
          value.dispose();
          return { loss: l, figures: { target: 0.5 }, grads: vars.map((v) => grads[v.name]) };
        },
      }),
    dispose: () => store.dispose(),
  };
}
