/**
 * Float64 dot-product kernels on row-major typed arrays. Every product the
 * metrics need (covariances, A·S·Aᵀ, Gram and distance blocks) has the form
 * C = A·Bᵀ, whose inner loops run along contiguous rows of both operands.
 */

/** Rows of A and B handled per register block (4 × 4 accumulators). */
const BLOCK = 4;
/** Columns per k-tile and B rows per panel: a 64 × 256 float64 panel (128 KB) stays in L2. */
const KC = 256;
const NC = 64;

/** Options for {@link gemmNT}. */
export interface GemmNTOptions {
  /** Add into `out` instead of overwriting it. Default false. */
  accumulate?: boolean;
  /**
   * C is known to be symmetric (A = B, or A·Bᵀ = Fᵀ·S·F): compute only the
   * blocks on and above the diagonal and mirror them. Default false.
   */
  symmetric?: boolean;
  /**
   * Row r of B is zero in columns < r (B upper-trapezoidal), so each dot
   * product may start at the B row's index. Default false.
   */
  bUpperTrapezoidal?: boolean;
  /** As `bUpperTrapezoidal`, for A. */
  aUpperTrapezoidal?: boolean;
}

/**
 * C = A·Bᵀ (or C += A·Bᵀ) in float64.
 *
 * @param a - A, `[m, k]` row-major (subarrays select row blocks without copying).
 * @param b - B, `[n, k]` row-major.
 * @param out - C, `[m, n]` row-major float64.
 */
export function gemmNT(
  a: Float64Array,
  b: Float64Array,
  m: number,
  n: number,
  k: number,
  out: Float64Array,
  opts: GemmNTOptions = {},
): Float64Array {
  const acc = opts.accumulate ?? false;
  const sym = opts.symmetric ?? false;
  const aTrap = opts.aUpperTrapezoidal ?? false;
  const bTrap = opts.bUpperTrapezoidal ?? false;
  if (sym && m !== n) throw new RangeError(`gemmNT: symmetric needs a square result, got [${m}, ${n}]`);
  if (a.length < m * k || b.length < n * k || out.length < m * n) {
    throw new RangeError(`gemmNT: operands too short for [${m}, ${k}]·[${n}, ${k}]ᵀ → [${m}, ${n}]`);
  }
  if (!acc) out.fill(0, 0, m * n);
  // Tiles of KC columns and NC rows of B keep the B panel in cache while all rows of A pass over it.
  for (let kk = 0; kk < k; kk += KC) {
    const kEnd = Math.min(kk + KC, k);
    for (let jj = 0; jj < n; jj += NC) {
      const jjEnd = Math.min(jj + NC, n);
      for (let i = 0; i < m; i += BLOCK) {
        const iEnd = Math.min(i + BLOCK, m);
        const jStart = sym ? Math.max(jj, i) : jj;
        for (let j = jStart; j < jjEnd; j += BLOCK) {
          const jEnd = Math.min(j + BLOCK, jjEnd);
          // Zero columns of trapezoidal operands are skipped: a block's rows are all zero before its first row.
          const k0 = Math.max(kk, aTrap ? i : 0, bTrap ? j : 0);
          if (k0 >= kEnd) continue;
          if (iEnd - i === BLOCK && jEnd - j === BLOCK) block4x4(a, b, i * k + k0, j * k + k0, kEnd - k0, k, out, i * n + j, n);
          else blockEdge(a, b, k0, i, iEnd, j, jEnd, kEnd - k0, k, out, n);
        }
      }
    }
  }
  if (sym) {
    for (let i = 0; i < m; i++) {
      // Blocks on the diagonal computed their lower part too; mirror only strictly below the block.
      const lim = i - (i % BLOCK);
      for (let j = 0; j < lim; j++) out[i * n + j] = out[j * n + i];
    }
  }
  return out;
}

function block4x4(
  a: Float64Array,
  b: Float64Array,
  pa: number,
  pb: number,
  k: number,
  stride: number,
  out: Float64Array,
  pc: number,
  n: number,
): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const pa1 = pa + stride, pa2 = pa + 2 * stride, pa3 = pa + 3 * stride;
  const pb1 = pb + stride, pb2 = pb + 2 * stride, pb3 = pb + 3 * stride;
  for (let t = 0; t < k; t++) {
    const x0 = a[pa + t], x1 = a[pa1 + t], x2 = a[pa2 + t], x3 = a[pa3 + t];
    const y0 = b[pb + t], y1 = b[pb1 + t], y2 = b[pb2 + t], y3 = b[pb3 + t];
    c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
    c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
    c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
    c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
  }
  out[pc] += c00; out[pc + 1] += c01; out[pc + 2] += c02; out[pc + 3] += c03;
  pc += n;
  out[pc] += c10; out[pc + 1] += c11; out[pc + 2] += c12; out[pc + 3] += c13;
  pc += n;
  out[pc] += c20; out[pc + 1] += c21; out[pc + 2] += c22; out[pc + 3] += c23;
  pc += n;
  out[pc] += c30; out[pc + 1] += c31; out[pc + 2] += c32; out[pc + 3] += c33;
}

function blockEdge(
  a: Float64Array,
  b: Float64Array,
  k0: number,
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  k: number,
  stride: number,
  out: Float64Array,
  n: number,
): void {
  for (let i = i0; i < i1; i++) {
    const pa = k0 + i * stride;
    for (let j = j0; j < j1; j++) {
      const pb = k0 + j * stride;
      let s = 0;
      for (let t = 0; t < k; t++) s += a[pa + t] * b[pb + t];
      out[i * n + j] += s;
    }
  }
}

/**
 * Σ x[px + t]·y[py + t] for t < len, in float64. Four accumulators break the
 * add-latency chain of a single running sum.
 */
export function dot(x: Float64Array, px: number, y: Float64Array, py: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 3 < len; t += 4) {
    s0 += x[px + t] * y[py + t];
    s1 += x[px + t + 1] * y[py + t + 1];
    s2 += x[px + t + 2] * y[py + t + 2];
    s3 += x[px + t + 3] * y[py + t + 3];
  }
  for (; t < len; t++) s0 += x[px + t] * y[py + t];
  return s0 + s1 + (s2 + s3);
}
