import { normalTensor, type ParamStore, Rng, tf } from '@farmer/core';

export interface RandomizeOptions {
  /** Noise std of every weight that is neither a proj_out nor a LayerNorm scale. */
  scale: number;
  /** Noise std of the proj_out weights; 0 leaves them as they are (a zero proj_out keeps an AF block the identity). */
  projOut: number;
  /** The RNG stream, seeded `${stream}:${seed}` (default 'randomize'). */
  stream?: string;
}

/**
 * Adds seeded Gaussian noise to every weight of a store, to make a
 * non-trivial model for a test: std `projOut` on proj_out, 0.1 on LayerNorm
 * scales, `scale` elsewhere. A weight whose std is 0 is skipped without
 * drawing, so the draws of the others do not depend on it.
 */
export function randomize(store: ParamStore, seed: number, options: RandomizeOptions): void {
  const rng = new Rng(`${options.stream ?? 'randomize'}:${seed}`);
  for (const name of store.names()) {
    const std = /proj_out/.test(name) ? options.projOut : /norm\.weight/.test(name) ? 0.1 : options.scale;
    if (std === 0) continue;
    const v = store.get(name);
    const t = tf.tidy(() => tf.add(v, normalTensor(rng, v.shape, std)));
    v.assign(t);
    t.dispose();
  }
}
