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
  const weights = contributions.map((c) => c.weight / total);
  const out: NamedArrays = new Map();
  for (const [name, ref] of contributions[0].arrays) {
    const parts = contributions.map((c) => {
      const a = c.arrays.get(name);
      if (!a || a.length !== ref.length) throw new Error(`all-reduce: contribution lacks '${name}' or has the wrong size`);
      return a;
    });
    out.set(name, weightedSum(parts, weights));
  }
  return out;
}

/**
 * Σ_r w_r·a_r per element, summed in float64 in replica order and rounded
 * once to float32: one pass, no float64 buffer (a JS number is a double).
 * Two replicas get their own loop, the common case on one machine.
 */
function weightedSum(parts: Float32Array[], w: number[]): Float32Array {
  const n = parts[0].length;
  const out = new Float32Array(n);
  if (parts.length === 2) {
    const [a, b] = parts;
    const [wa, wb] = w;
    for (let i = 0; i < n; i++) out[i] = 0 + wa * a[i] + wb * b[i];
    return out;
  }
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let r = 0; r < parts.length; r++) acc += w[r] * parts[r][i];
    out[i] = acc;
  }
  return out;
}
