// Benchmark helpers: timing with warm-up and medians. Research-style on purpose.
import { Rng, tf } from '@farmer/core';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs `fn` `warmup` times, then `reps` times; returns the median seconds per call. */
export async function timeIt(fn, { warmup = 1, reps = 5 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    ts.push((performance.now() - t) / 1000);
  }
  return median(ts);
}

export const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export function table(rows) {
  const cols = Object.keys(rows[0] ?? {});
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals) => vals.map((v, i) => String(v).padEnd(w[i])).join('  ');
  console.log(line(cols));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of rows) console.log(line(cols.map((c) => r[c])));
}

/**
 * Perturbs every weight of a ParamStore by N(0, std²) drawn from Rng(`seed`), so the AF
 * is not the identity; proj_out gets 0.02 to keep the flow well-conditioned.
 */
export function randomise(store, seed, std = 0.05) {
  const rng = new Rng(seed);
  for (const name of store.names()) {
    const v = store.get(name);
    const t = tf.tidy(() => tf.add(v, rng.normalTensor(v.shape, /proj_out/.test(name) ? 0.02 : std)));
    v.assign(t);
    t.dispose();
  }
}
