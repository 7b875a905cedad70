/**
 * The seam between data-parallel training and its transport: replicas
 * contribute named Float32Arrays with a weight (their shard size), and every
 * replica gets back the weighted mean. Worker threads on one machine back it
 * with postMessage and transferable buffers (worker-engine.ts).
 *
 * Another transport could back the same interface across machines: a ring
 * all-reduce over TCP (each of W hosts sends and receives 2·(W−1)/W of the
 * gradient bytes per step), or MPI/NCCL through a native addon. None is built:
 * this project's machines have one network-less host with 2 cores, where
 * threads are the only transport that can be tested, and a 1.3M-parameter
 * model's 5 MB of gradients per step would be dominated by network latency.
 */
export type NamedArrays = Map<string, Float32Array>;

/** Averages named arrays across the replicas of a data-parallel step, weighted by each replica's rows. */
export interface AllReduce {
  /** Contributes `arrays` with `weight`; resolves to Σ_w weight_w·arrays_w / Σ_w weight_w. */
  reduce(arrays: NamedArrays, weight: number): Promise<NamedArrays>;
}

/** The weighted mean of contributions, accumulated in float64 per element then rounded once. */
export function weightedMean(contributions: { arrays: NamedArrays; weight: number }[]): NamedArrays {
  const total = contributions.reduce((a, c) => a + c.weight, 0);
  const out: NamedArrays = new Map();
  const first = contributions[0].arrays;
  for (const [name, ref] of first) {
    const acc = new Float64Array(ref.length);
    for (const c of contributions) {
      const a = c.arrays.get(name);
      if (!a || a.length !== ref.length) throw new Error(`all-reduce: contribution lacks '${name}' or has the wrong size`);
      const w = c.weight / total;
      for (let i = 0; i < a.length; i++) acc[i] += w * a[i];
    }
    out.set(name, Float32Array.from(acc));
  }
  return out;
}
