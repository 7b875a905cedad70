import { FarmerError } from './errors.js';

/** Serialisable generator state: four uint32 words of xoshiro128**. */
export interface RngState {
  s: [number, number, number, number];
}

/** splitmix32: spreads a 32-bit seed into well-mixed words for the state. */
function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** FNV-1a over a string, so seeds may be labels such as 'data' or 'init'. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function seedWords(seed: number | string): [number, number, number, number] {
  let lo: number;
  let hi: number;
  if (typeof seed === 'string') {
    lo = hashString(seed);
    hi = hashString(`${seed}\u0001`);
  } else {
    if (!Number.isSafeInteger(seed)) {
      throw new FarmerError('FARMER_E_BAD_INPUT', `seed must be a safe integer or a string, got ${seed}`, { field: 'seed' });
    }
    lo = seed >>> 0;
    hi = Math.floor(seed / 2 ** 32) >>> 0;
  }
  const next = splitmix32(lo ^ Math.imul(hi, 0x9e3779b1));
  const s: [number, number, number, number] = [next(), next(), next(), next()];
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

/**
 * A seeded random generator (xoshiro128**) running in JavaScript, so the same
 * seed gives identical draws on every backend and in the browser. Draws come
 * out as typed arrays (`normalTensor`/`uniformTensor` wrap them as tfjs
 * tensors). State is explicit and serialisable for resume.
 */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number | string) {
    this.s = new Uint32Array(seedWords(seed));
  }

  /** Restores a generator from `state()`. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  /** An independent generator derived from this one's current state and a label. */
  fork(label: string | number): Rng {
    const r = new Rng(`${this.s[0]}:${this.s[1]}:${this.s[2]}:${this.s[3]}:${label}`);
    return r;
  }

  /** The generator's state (xoshiro128** words), for checkpoints and resume. */
  state(): RngState {
    return { s: [this.s[0], this.s[1], this.s[2], this.s[3]] };
  }

  /** Restores a state saved by {@link Rng.state}, so the stream continues exactly where it was. */
  setState(state: RngState): void {
    if (!state || !Array.isArray(state.s) || state.s.length !== 4 || state.s.some((v) => !Number.isInteger(v))) {
      throw new FarmerError('FARMER_E_CORRUPT', 'RNG state must be { s: [u32, u32, u32, u32] }');
    }
    this.s = new Uint32Array(state.s);
  }

  /** Next uint32. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53-bit resolution. */
  next(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new FarmerError('FARMER_E_BAD_INPUT', `int(n) needs a positive integer n, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** `n` uniform draws in [lo, hi). */
  uniform(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    const w = hi - lo;
    for (let i = 0; i < n; i++) out[i] = lo + w * this.next();
    return out;
  }

  /** `n` standard normal draws (Box–Muller, both values of each pair used). */
  normal(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u1 = 1 - this.next(); // (0, 1]: log stays finite
      const u2 = this.next();
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  }

  /**
   * One categorical draw per row of `logits` [rows, K] (row-major), from
   * softmax(logits / temperature). Inverse-CDF on max-shifted weights in float64.
   */
  categorical(logits: ArrayLike<number>, rows: number, k: number, temperature = 1): Int32Array {
    if (logits.length !== rows * k) {
      throw new FarmerError('FARMER_E_SHAPE', `categorical: logits has ${logits.length} values, expected rows·K = ${rows}·${k}`);
    }
    if (!(temperature > 0)) throw new FarmerError('FARMER_E_BAD_INPUT', `categorical: temperature must be > 0, got ${temperature}`);
    const out = new Int32Array(rows);
    const w = new Float64Array(k);
    for (let r = 0; r < rows; r++) {
      let max = -Infinity;
      for (let j = 0; j < k; j++) max = Math.max(max, logits[r * k + j] / temperature);
      if (!Number.isFinite(max)) {
        throw new FarmerError('FARMER_E_NON_FINITE', `categorical: row ${r} has no finite logit`, { row: r });
      }
      let total = 0;
      for (let j = 0; j < k; j++) {
        const v = Math.exp(logits[r * k + j] / temperature - max);
        w[j] = Number.isNaN(v) ? 0 : v;
        total += w[j];
      }
      let u = this.next() * total;
      let pick = k - 1;
      for (let j = 0; j < k; j++) {
        u -= w[j];
        if (u < 0) {
          pick = j;
          break;
        }
      }
      // Never pick a zero-weight tail entry when rounding leaves u >= 0.
      while (pick > 0 && w[pick] === 0) pick--;
      out[r] = pick;
    }
    return out;
  }

  /** A permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
