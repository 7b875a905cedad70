// ../../work/main/packages/eval/src/psd-factor.ts
import { FarmerError } from "@farmer/core";

// ../../work/main/packages/eval/src/gemm.ts
var BLOCK = 4;
var KC = 256;
var NC = 64;
function gemmNT(a, b, m2, n, k, out, opts = {}) {
  const acc = opts.accumulate ?? false;
  const sym = opts.symmetric ?? false;
  const aTrap = opts.aUpperTrapezoidal ?? false;
  const bTrap = opts.bUpperTrapezoidal ?? false;
  if (sym && m2 !== n) throw new RangeError(`gemmNT: symmetric needs a square result, got [${m2}, ${n}]`);
  if (a.length < ((opts.aRow ?? 0) + m2) * k || b.length < ((opts.bRow ?? 0) + n) * k || out.length < m2 * n) {
    throw new RangeError(`gemmNT: operands too short for [${m2}, ${k}]\xB7[${n}, ${k}]\u1D40 \u2192 [${m2}, ${n}]`);
  }
  const a0 = (opts.aRow ?? 0) * k;
  const b0 = (opts.bRow ?? 0) * k;
  if (!acc) out.fill(0, 0, m2 * n);
  for (let kk = 0; kk < k; kk += KC) {
    const kEnd = Math.min(kk + KC, k);
    for (let jj = 0; jj < n; jj += NC) {
      const jjEnd = Math.min(jj + NC, n);
      for (let i = 0; i < m2; i += BLOCK) {
        const iEnd = Math.min(i + BLOCK, m2);
        const jStart = sym ? Math.max(jj, i) : jj;
        for (let j = jStart; j < jjEnd; j += BLOCK) {
          const jEnd = Math.min(j + BLOCK, jjEnd);
          const k0 = Math.max(kk, aTrap ? i : 0, bTrap ? j : 0);
          if (k0 >= kEnd) continue;
          if (iEnd - i === BLOCK && jEnd - j === BLOCK) block4x4(a, b, a0 + i * k + k0, b0 + j * k + k0, kEnd - k0, k, out, i * n + j, n);
          else blockEdge(a, b, a0 + k0, b0 + k0, i, iEnd, j, jEnd, kEnd - k0, k, out, n);
        }
      }
    }
  }
  if (sym) {
    for (let i = 0; i < m2; i++) {
      const lim = i - i % BLOCK;
      for (let j = 0; j < lim; j++) out[i * n + j] = out[j * n + i];
    }
  }
  return out;
}
function block4x4(a, b, pa, pb, k, stride, out, pc, n) {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const pa1 = pa + stride, pa2 = pa + 2 * stride, pa3 = pa + 3 * stride;
  const pb1 = pb + stride, pb2 = pb + 2 * stride, pb3 = pb + 3 * stride;
  for (let t2 = 0; t2 < k; t2++) {
    const x0 = a[pa + t2], x1 = a[pa1 + t2], x2 = a[pa2 + t2], x3 = a[pa3 + t2];
    const y0 = b[pb + t2], y1 = b[pb1 + t2], y2 = b[pb2 + t2], y3 = b[pb3 + t2];
    c00 += x0 * y0;
    c01 += x0 * y1;
    c02 += x0 * y2;
    c03 += x0 * y3;
    c10 += x1 * y0;
    c11 += x1 * y1;
    c12 += x1 * y2;
    c13 += x1 * y3;
    c20 += x2 * y0;
    c21 += x2 * y1;
    c22 += x2 * y2;
    c23 += x2 * y3;
    c30 += x3 * y0;
    c31 += x3 * y1;
    c32 += x3 * y2;
    c33 += x3 * y3;
  }
  out[pc] += c00;
  out[pc + 1] += c01;
  out[pc + 2] += c02;
  out[pc + 3] += c03;
  pc += n;
  out[pc] += c10;
  out[pc + 1] += c11;
  out[pc + 2] += c12;
  out[pc + 3] += c13;
  pc += n;
  out[pc] += c20;
  out[pc + 1] += c21;
  out[pc + 2] += c22;
  out[pc + 3] += c23;
  pc += n;
  out[pc] += c30;
  out[pc + 1] += c31;
  out[pc + 2] += c32;
  out[pc + 3] += c33;
}
function blockEdge(a, b, a0, b0, i0, i1, j0, j1, k, stride, out, n) {
  for (let i = i0; i < i1; i++) {
    const pa = a0 + i * stride;
    for (let j = j0; j < j1; j++) {
      const pb = b0 + j * stride;
      let s = 0;
      for (let t2 = 0; t2 < k; t2++) s += a[pa + t2] * b[pb + t2];
      out[i * n + j] += s;
    }
  }
}
function dot(x, px, y, py, len) {
  let s = 0;
  for (let t2 = 0; t2 < len; t2++) s += x[px + t2] * y[py + t2];
  return s;
}

// ../../work/main/packages/eval/src/psd-factor.ts
function psdFactor(a, n, opts = {}) {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new FarmerError("FARMER_E_SHAPE", `psdFactor: matrix has ${a.length} values, expected n\xB7n for n = ${n}`);
  }
  const d = new Float64Array(n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) {
    d[i] = a[i * n + i];
    if (!Number.isFinite(d[i])) {
      throw new FarmerError("FARMER_E_NON_FINITE", `psdFactor: diagonal entry ${i} is ${d[i]}; the features or covariance contain NaN/Infinity`);
    }
    maxDiag = Math.max(maxDiag, d[i]);
  }
  const tol = opts.tol ?? n * 2 ** -52 * maxDiag;
  const work = new Float64Array(n * n);
  const done = new Uint8Array(n);
  const pivots2 = new Int32Array(n);
  let rank2 = 0;
  for (let j = 0; j < n; j++) {
    let p2 = -1;
    let best = tol;
    for (let i = 0; i < n; i++) {
      if (!done[i] && d[i] > best) {
        best = d[i];
        p2 = i;
      }
    }
    if (p2 < 0) break;
    done[p2] = 1;
    pivots2[j] = p2;
    const pivot = Math.sqrt(d[p2]);
    work[p2 * n + j] = pivot;
    const rp = p2 * n;
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const ri = i * n;
      const aip = i > p2 ? a[ri + p2] : a[rp + i];
      const v = (aip - dot(work, ri, work, rp, j)) / pivot;
      work[ri + j] = v;
      d[i] -= v * v;
    }
    rank2 = j + 1;
  }
  const factor2 = new Float64Array(n * rank2);
  for (let i = 0; i < n; i++) factor2.set(work.subarray(i * n, i * n + rank2), i * rank2);
  let next = rank2;
  for (let i = 0; i < n; i++) if (!done[i]) pivots2[next++] = i;
  return { factor: factor2, rank: rank2, n, pivots: pivots2 };
}

// ../../work/main/packages/eval/src/sym-eigen.ts
import { FarmerError as FarmerError2 } from "@farmer/core";
var MAX_SWEEPS = 60;
function symEigen(a, n, opts = {}) {
  const wantVectors = opts.vectors ?? true;
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new FarmerError2("FARMER_E_SHAPE", `symEigen: matrix has ${a.length} values, expected n\xB7n for n = ${n}`);
  }
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      throw new FarmerError2(
        "FARMER_E_NON_FINITE",
        `symEigen: matrix entry (${Math.floor(i / n)}, ${i % n}) is ${a[i]}; the features or covariance contain NaN/Infinity`
      );
    }
  }
  if (n === 0) return { values: new Float64Array(0), vectors: new Float64Array(0) };
  const w = Float64Array.from(a);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) w[j * n + i] = w[i * n + j];
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(w, n, d, e, wantVectors);
  tql2(w, n, d, e, wantVectors);
  return sortAscending(w, n, d, wantVectors);
}
function tred2(w, n, d, e, vectors) {
  for (let j = 0; j < n; j++) d[j] = w[j * n + (n - 1)];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n + (i - 1)];
        w[j * n + i] = 0;
        w[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f2 = d[i - 1];
      let g = Math.sqrt(h);
      if (f2 > 0) g = -g;
      e[i] = scale * g;
      h -= f2 * g;
      d[i - 1] = f2 - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        f2 = d[j];
        w[i * n + j] = f2;
        g = e[j] + w[rj + j] * f2;
        for (let k = j + 1; k <= i - 1; k++) {
          const v = w[rj + k];
          g += v * d[k];
          e[k] += v * f2;
        }
        e[j] = g;
      }
      f2 = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f2 += e[j] * d[j];
      }
      const hh = f2 / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        const rj = j * n;
        f2 = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) w[rj + k] -= f2 * e[k] + g * d[k];
        d[j] = w[rj + (i - 1)];
        w[rj + i] = 0;
      }
    }
    d[i] = h;
  }
  if (vectors) {
    for (let i = 0; i < n - 1; i++) {
      const ri = i * n;
      w[ri + (n - 1)] = w[ri + i];
      w[ri + i] = 1;
      const h = d[i + 1];
      const r1 = (i + 1) * n;
      if (h !== 0) {
        for (let k = 0; k <= i; k++) d[k] = w[r1 + k] / h;
        for (let j = 0; j <= i; j++) {
          const rj = j * n;
          let g = 0;
          for (let k = 0; k <= i; k++) g += w[r1 + k] * w[rj + k];
          for (let k = 0; k <= i; k++) w[rj + k] -= g * d[k];
        }
      }
      for (let k = 0; k <= i; k++) w[r1 + k] = 0;
    }
    for (let j = 0; j < n; j++) {
      d[j] = w[j * n + (n - 1)];
      w[j * n + (n - 1)] = 0;
    }
    w[(n - 1) * n + (n - 1)] = 1;
  } else {
    for (let j = 0; j < n; j++) d[j] = w[j * n + j];
  }
  e[0] = 0;
}
function tql2(w, n, d, e, vectors) {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f2 = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m2 = l;
    while (m2 < n) {
      if (Math.abs(e[m2]) <= eps * tst1) break;
      m2++;
    }
    if (m2 > l) {
      let sweeps = 0;
      do {
        if (++sweeps > MAX_SWEEPS) {
          throw new FarmerError2("FARMER_E_INTERNAL", `symEigen: QL iteration did not converge for eigenvalue ${l} of ${n} after ${MAX_SWEEPS} sweeps`);
        }
        let g = d[l];
        let p2 = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p2, 1);
        if (p2 < 0) r = -r;
        d[l] = e[l] / (p2 + r);
        d[l + 1] = e[l] * (p2 + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f2 += h;
        p2 = d[m2];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s22 = 0;
        for (let i = m2 - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s22 = s;
          g = c * e[i];
          h = c * p2;
          r = Math.hypot(p2, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p2 / r;
          p2 = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (vectors) {
            const ri = i * n;
            const r1 = ri + n;
            for (let k = 0; k < n; k++) {
              const hk = w[r1 + k];
              const wk = w[ri + k];
              w[r1 + k] = s * wk + c * hk;
              w[ri + k] = c * wk - s * hk;
            }
          }
        }
        p2 = -s * s22 * c3 * el1 * e[l] / dl1;
        e[l] = s * p2;
        d[l] = c * p2;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f2;
    e[l] = 0;
  }
}
function sortAscending(w, n, d, vectors) {
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[x] - d[y]);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = d[order[i]];
  if (!vectors) return { values, vectors: new Float64Array(0) };
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out.set(w.subarray(order[i] * n, order[i] * n + n), i * n);
  return { values, vectors: out };
}

// fid-bench.ts
var f = Number(process.argv[2] ?? 2048);
function cov(n) {
  const x = new Float64Array(n * f).map(() => Math.random() - 0.5);
  const xt = new Float64Array(f * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) xt[j * n + i] = x[i * f + j];
  const c = new Float64Array(f * f);
  gemmNT(xt, xt, f, f, n, c, { symmetric: true });
  return c;
}
var s1 = cov(Number(process.argv[3] ?? 3e3));
var s2 = cov(Number(process.argv[4] ?? 3e3));
var t0 = performance.now();
var t = t0;
var lap = (s) => {
  const n = performance.now();
  console.log(s, ((n - t) / 1e3).toFixed(2));
  t = n;
};
var { factor, rank, pivots } = psdFactor(s1, f);
lap(`psdFactor rank ${rank}`);
var ft = new Float64Array(rank * f);
for (let t2 = 0; t2 < f; t2++) {
  const v = pivots[t2];
  for (let s = 0; s < rank; s++) ft[s * f + t2] = factor[v * rank + s];
}
var s2p = new Float64Array(f * f);
for (let a = 0; a < f; a++) for (let b = 0; b < f; b++) s2p[a * f + b] = s2[pivots[a] * f + pivots[b]];
lap("permute");
var p = new Float64Array(rank * f);
gemmNT(ft, s2p, rank, f, f, p, { aUpperTrapezoidal: true });
lap("P");
var m = new Float64Array(rank * rank);
gemmNT(p, ft, rank, rank, f, m, { symmetric: true, bUpperTrapezoidal: true });
lap("M");
var ev = symEigen(m, rank, { vectors: false }).values;
lap("eig");
var tr = 0;
for (const v of ev) tr += Math.sqrt(Math.max(v, 0));
console.log("total", ((performance.now() - t0) / 1e3).toFixed(2), "trsqrt", tr, "min ev", ev[0]);
