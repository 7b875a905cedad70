// Benchmark helpers: timing with warm-up and medians. Research-style on purpose.
import { readFileSync } from 'node:fs';
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

/** The machine's CPU time (Linux /proc/stat, in ticks): idle and total over every core, and the number of cores; undefined elsewhere. */
function machineTicks() {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n');
    const f = lines[0].trim().split(/\s+/).slice(1, 9).map(Number);
    return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0), cores: lines.filter((l) => /^cpu\d/.test(l)).length };
  } catch {
    return undefined;
  }
}

/**
 * Starts measuring what CPU a timed section gets. The returned function stops
 * and gives `cores`, this process's CPU seconds (every thread, workers
 * included) per wall second, and `others`, the cores the rest of the machine
 * kept busy meanwhile (NaN off Linux). A data-parallel row is only a
 * measurement of the code when the machine had a free core per worker:
 * two workers that got 1 core between them, because another process held
 * the other, show 1× whatever the code does.
 */
export function cpuMeter() {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m0 = machineTicks();
  return () => {
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cores = (c.user + c.system) / 1e6 / wall;
    const m1 = machineTicks();
    const busy = m0 && m1 && m1.total > m0.total ? (1 - (m1.idle - m0.idle) / (m1.total - m0.total)) * m1.cores : NaN;
    return { cores, others: Math.max(0, busy - cores) };
  };
}

/** Other processes' load (cores) above which a row is marked as contended. */
export const CONTENDED = 0.25;
