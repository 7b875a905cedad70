import { type ParamStore, Rng, tf } from '@farmer/core';

/** Perturbs every weight of a store randomly (proj_out kept small so the AF stays well-conditioned). */
export function randomize(store: ParamStore, seed: number, scale = 0.1): void {
  const rng = new Rng(`randomize:${seed}`);
  for (const name of store.names()) {
    const v = store.get(name);
    const std = /proj_out/.test(name) ? 0.02 : /norm\.weight/.test(name) ? 0.1 : scale;
    const t = tf.tidy(() => tf.add(v, rng.normalTensor(v.shape, std)));
    v.assign(t);
    t.dispose();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
