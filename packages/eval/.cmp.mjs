// ../../work/main/packages/eval/src/sym-eigen.ts
import { FarmerError } from "@farmer/core";
var MAX_SWEEPS = 60;
function symEigen(a2, n2, opts = {}) {
  const wantVectors = opts.vectors ?? true;
  if (!Number.isInteger(n2) || n2 < 0 || a2.length !== n2 * n2) {
    throw new FarmerError("FARMER_E_SHAPE", `symEigen: matrix has ${a2.length} values, expected n\xB7n for n = ${n2}`);
  }
  for (let i = 0; i < a2.length; i++) {
    if (!Number.isFinite(a2[i])) {
      throw new FarmerError(
        "FARMER_E_NON_FINITE",
        `symEigen: matrix entry (${Math.floor(i / n2)}, ${i % n2}) is ${a2[i]}; the features or covariance contain NaN/Infinity`
      );
    }
  }
  if (n2 === 0) return { values: new Float64Array(0), vectors: new Float64Array(0) };
  const w = Float64Array.from(a2);
  for (let i = 0; i < n2; i++) for (let j = 0; j < i; j++) w[j * n2 + i] = w[i * n2 + j];
  const d = new Float64Array(n2);
  const e = new Float64Array(n2);
  tred2(w, n2, d, e, wantVectors);
  tql2(w, n2, d, e, wantVectors);
  return sortAscending(w, n2, d, wantVectors);
}
function tred2(w, n2, d, e, vectors) {
  if (n2 === 1) {
    d[0] = w[0];
    e[0] = 0;
    return;
  }
  const hs = new Float64Array(n2);
  let x2 = new Float64Array(n2);
  let q = new Float64Array(n2);
  let x22 = new Float64Array(n2);
  let q2 = new Float64Array(n2);
  for (let j = 0; j < n2; j++) x2[j] = w[j * n2 + (n2 - 1)];
  let h = householder(w, n2, n2 - 1, x2, q, e);
  if (h > 0) {
    matvec(w, n2, n2 - 1, x2, q);
    finishStep(n2 - 1, x2, q, h);
  } else zeroStep(w, n2, n2 - 1);
  hs[n2 - 1] = h;
  for (let i = n2 - 1; i >= 1; i--) {
    if (i === 1) {
      if (h > 0) rank2Update(w, n2, 1, x2, q);
      break;
    }
    const xi = x2[i - 1];
    const qi = q[i - 1];
    for (let j = 0; j < i; j++) x22[j] = h > 0 ? w[j * n2 + (i - 1)] - (x2[j] * qi + q[j] * xi) : w[j * n2 + (i - 1)];
    const h2 = householder(w, n2, i - 1, x22, q2, e);
    if (h > 0 && h2 > 0) fusedPass(w, n2, i, x2, q, x22, q2);
    else {
      if (h > 0) rank2Update(w, n2, i, x2, q);
      if (h2 > 0) matvec(w, n2, i - 1, x22, q2);
      else zeroStep(w, n2, i - 1);
    }
    if (h2 > 0) finishStep(i - 1, x22, q2, h2);
    hs[i - 1] = h2;
    [x2, x22] = [x22, x2];
    [q, q2] = [q2, q];
    h = h2;
  }
  for (let i = 1; i < n2; i++) d[i] = hs[i];
  d[0] = w[0];
  if (vectors) {
    for (let i = 0; i < n2 - 1; i++) {
      const ri = i * n2;
      w[ri + (n2 - 1)] = w[ri + i];
      w[ri + i] = 1;
      const h2 = d[i + 1];
      const r1 = (i + 1) * n2;
      if (h2 !== 0) {
        for (let k = 0; k <= i; k++) d[k] = w[r1 + k] / h2;
        for (let j = 0; j <= i; j++) {
          const rj = j * n2;
          let g = 0;
          for (let k = 0; k <= i; k++) g += w[r1 + k] * w[rj + k];
          for (let k = 0; k <= i; k++) w[rj + k] -= g * d[k];
        }
      }
      for (let k = 0; k <= i; k++) w[r1 + k] = 0;
    }
    for (let j = 0; j < n2; j++) {
      d[j] = w[j * n2 + (n2 - 1)];
      w[j * n2 + (n2 - 1)] = 0;
    }
    w[(n2 - 1) * n2 + (n2 - 1)] = 1;
  } else {
    for (let j = 0; j < n2; j++) d[j] = w[j * n2 + j];
  }
  e[0] = 0;
}
function householder(w, n2, i, x2, q, e) {
  let scale = 0;
  for (let k = 0; k < i; k++) scale += Math.abs(x2[k]);
  if (scale === 0) {
    e[i] = x2[i - 1];
    return 0;
  }
  let h = 0;
  for (let k = 0; k < i; k++) {
    x2[k] /= scale;
    h += x2[k] * x2[k];
  }
  const f = x2[i - 1];
  let g = Math.sqrt(h);
  if (f > 0) g = -g;
  e[i] = scale * g;
  h -= f * g;
  x2[i - 1] = f - g;
  const ri = i * n2;
  for (let j = 0; j < i; j++) {
    q[j] = 0;
    w[ri + j] = x2[j];
  }
  return h;
}
function matvec(w, n2, i, x2, q) {
  for (let j = 0; j < i; j++) {
    const rj = j * n2;
    const f = x2[j];
    let g = q[j] + w[rj + j] * f;
    for (let k = j + 1; k < i; k++) {
      const v = w[rj + k];
      g += v * x2[k];
      q[k] += v * f;
    }
    q[j] = g;
  }
}
function finishStep(i, x2, q, h) {
  let f = 0;
  for (let j = 0; j < i; j++) {
    q[j] /= h;
    f += q[j] * x2[j];
  }
  const hh = f / (h + h);
  for (let j = 0; j < i; j++) q[j] -= hh * x2[j];
}
function rank2Update(w, n2, i, x2, q) {
  for (let j = 0; j < i; j++) {
    const rj = j * n2;
    const f = x2[j];
    const g = q[j];
    for (let k = j; k < i; k++) w[rj + k] -= f * q[k] + g * x2[k];
    w[rj + i] = 0;
  }
}
function fusedPass(w, n2, i, x2, q, x22, q2) {
  for (let j = 0; j < i - 1; j++) {
    const rj = j * n2;
    const f = x2[j];
    const g = q[j];
    const f2 = x22[j];
    let v = w[rj + j] - (f * q[j] + g * x2[j]);
    w[rj + j] = v;
    let g2 = q2[j] + v * f2;
    for (let k = j + 1; k < i - 1; k++) {
      v = w[rj + k] - (f * q[k] + g * x2[k]);
      w[rj + k] = v;
      g2 += v * x22[k];
      q2[k] += v * f2;
    }
    w[rj + i - 1] -= f * q[i - 1] + g * x2[i - 1];
    q2[j] = g2;
    w[rj + i] = 0;
  }
  const r = (i - 1) * n2;
  w[r + i - 1] -= x2[i - 1] * q[i - 1] + q[i - 1] * x2[i - 1];
  w[r + i] = 0;
}
function zeroStep(w, n2, i) {
  for (let j = 0; j < i; j++) {
    w[j * n2 + i] = 0;
    w[i * n2 + j] = 0;
  }
}
function tql2(w, n2, d, e, vectors) {
  for (let i = 1; i < n2; i++) e[i - 1] = e[i];
  e[n2 - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n2; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n2) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let sweeps = 0;
      do {
        if (++sweeps > MAX_SWEEPS) {
          throw new FarmerError("FARMER_E_INTERNAL", `symEigen: QL iteration did not converge for eigenvalue ${l} of ${n2} after ${MAX_SWEEPS} sweeps`);
        }
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n2; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (vectors) {
            const ri = i * n2;
            const r1 = ri + n2;
            for (let k = 0; k < n2; k++) {
              const hk = w[r1 + k];
              const wk = w[ri + k];
              w[r1 + k] = s * wk + c * hk;
              w[ri + k] = c * wk - s * hk;
            }
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}
function sortAscending(w, n2, d, vectors) {
  const order = Array.from({ length: n2 }, (_, i) => i).sort((x2, y) => d[x2] - d[y]);
  const values = new Float64Array(n2);
  for (let i = 0; i < n2; i++) values[i] = d[order[i]];
  if (!vectors) return { values, vectors: new Float64Array(0) };
  const out = new Float64Array(n2 * n2);
  for (let i = 0; i < n2; i++) out.set(w.subarray(order[i] * n2, order[i] * n2 + n2), i * n2);
  return { values, vectors: out };
}

// sym-eigen-old.ts
import { FarmerError as FarmerError2 } from "@farmer/core";
var MAX_SWEEPS2 = 60;
function symEigen2(a2, n2, opts = {}) {
  const wantVectors = opts.vectors ?? true;
  if (!Number.isInteger(n2) || n2 < 0 || a2.length !== n2 * n2) {
    throw new FarmerError2("FARMER_E_SHAPE", `symEigen: matrix has ${a2.length} values, expected n\xB7n for n = ${n2}`);
  }
  for (let i = 0; i < a2.length; i++) {
    if (!Number.isFinite(a2[i])) {
      throw new FarmerError2(
        "FARMER_E_NON_FINITE",
        `symEigen: matrix entry (${Math.floor(i / n2)}, ${i % n2}) is ${a2[i]}; the features or covariance contain NaN/Infinity`
      );
    }
  }
  if (n2 === 0) return { values: new Float64Array(0), vectors: new Float64Array(0) };
  const w = Float64Array.from(a2);
  for (let i = 0; i < n2; i++) for (let j = 0; j < i; j++) w[j * n2 + i] = w[i * n2 + j];
  const d = new Float64Array(n2);
  const e = new Float64Array(n2);
  tred22(w, n2, d, e, wantVectors);
  tql22(w, n2, d, e, wantVectors);
  return sortAscending2(w, n2, d, wantVectors);
}
function tred22(w, n2, d, e, vectors) {
  for (let j = 0; j < n2; j++) d[j] = w[j * n2 + (n2 - 1)];
  for (let i = n2 - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n2 + (i - 1)];
        w[j * n2 + i] = 0;
        w[i * n2 + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        const rj = j * n2;
        f = d[j];
        w[i * n2 + j] = f;
        g = e[j] + w[rj + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const v = w[rj + k];
          g += v * d[k];
          e[k] += v * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        const rj = j * n2;
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) w[rj + k] -= f * e[k] + g * d[k];
        d[j] = w[rj + (i - 1)];
        w[rj + i] = 0;
      }
    }
    d[i] = h;
  }
  if (vectors) {
    for (let i = 0; i < n2 - 1; i++) {
      const ri = i * n2;
      w[ri + (n2 - 1)] = w[ri + i];
      w[ri + i] = 1;
      const h = d[i + 1];
      const r1 = (i + 1) * n2;
      if (h !== 0) {
        for (let k = 0; k <= i; k++) d[k] = w[r1 + k] / h;
        for (let j = 0; j <= i; j++) {
          const rj = j * n2;
          let g = 0;
          for (let k = 0; k <= i; k++) g += w[r1 + k] * w[rj + k];
          for (let k = 0; k <= i; k++) w[rj + k] -= g * d[k];
        }
      }
      for (let k = 0; k <= i; k++) w[r1 + k] = 0;
    }
    for (let j = 0; j < n2; j++) {
      d[j] = w[j * n2 + (n2 - 1)];
      w[j * n2 + (n2 - 1)] = 0;
    }
    w[(n2 - 1) * n2 + (n2 - 1)] = 1;
  } else {
    for (let j = 0; j < n2; j++) d[j] = w[j * n2 + j];
  }
  e[0] = 0;
}
function tql22(w, n2, d, e, vectors) {
  for (let i = 1; i < n2; i++) e[i - 1] = e[i];
  e[n2 - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n2; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n2) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let sweeps = 0;
      do {
        if (++sweeps > MAX_SWEEPS2) {
          throw new FarmerError2("FARMER_E_INTERNAL", `symEigen: QL iteration did not converge for eigenvalue ${l} of ${n2} after ${MAX_SWEEPS2} sweeps`);
        }
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n2; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (vectors) {
            const ri = i * n2;
            const r1 = ri + n2;
            for (let k = 0; k < n2; k++) {
              const hk = w[r1 + k];
              const wk = w[ri + k];
              w[r1 + k] = s * wk + c * hk;
              w[ri + k] = c * wk - s * hk;
            }
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}
function sortAscending2(w, n2, d, vectors) {
  const order = Array.from({ length: n2 }, (_, i) => i).sort((x2, y) => d[x2] - d[y]);
  const values = new Float64Array(n2);
  for (let i = 0; i < n2; i++) values[i] = d[order[i]];
  if (!vectors) return { values, vectors: new Float64Array(0) };
  const out = new Float64Array(n2 * n2);
  for (let i = 0; i < n2; i++) out.set(w.subarray(order[i] * n2, order[i] * n2 + n2), i * n2);
  return { values, vectors: out };
}

// ../../work/main/packages/eval/src/gemm.ts
var BLOCK = 4;
var KC = 256;
var NC = 64;
function gemmNT(a2, b, m, n2, k, out, opts = {}) {
  const acc = opts.accumulate ?? false;
  const sym = opts.symmetric ?? false;
  const aTrap = opts.aUpperTrapezoidal ?? false;
  const bTrap = opts.bUpperTrapezoidal ?? false;
  if (sym && m !== n2) throw new RangeError(`gemmNT: symmetric needs a square result, got [${m}, ${n2}]`);
  if (a2.length < ((opts.aRow ?? 0) + m) * k || b.length < ((opts.bRow ?? 0) + n2) * k || out.length < m * n2) {
    throw new RangeError(`gemmNT: operands too short for [${m}, ${k}]\xB7[${n2}, ${k}]\u1D40 \u2192 [${m}, ${n2}]`);
  }
  const a0 = (opts.aRow ?? 0) * k;
  const b0 = (opts.bRow ?? 0) * k;
  if (!acc) out.fill(0, 0, m * n2);
  for (let kk = 0; kk < k; kk += KC) {
    const kEnd = Math.min(kk + KC, k);
    for (let jj = 0; jj < n2; jj += NC) {
      const jjEnd = Math.min(jj + NC, n2);
      for (let i = 0; i < m; i += BLOCK) {
        const iEnd = Math.min(i + BLOCK, m);
        const jStart = sym ? Math.max(jj, i) : jj;
        for (let j = jStart; j < jjEnd; j += BLOCK) {
          const jEnd = Math.min(j + BLOCK, jjEnd);
          const k0 = Math.max(kk, aTrap ? i : 0, bTrap ? j : 0);
          if (k0 >= kEnd) continue;
          if (iEnd - i === BLOCK && jEnd - j === BLOCK) block4x4(a2, b, a0 + i * k + k0, b0 + j * k + k0, kEnd - k0, k, out, i * n2 + j, n2);
          else blockEdge(a2, b, a0 + k0, b0 + k0, i, iEnd, j, jEnd, kEnd - k0, k, out, n2);
        }
      }
    }
  }
  if (sym) {
    for (let i = 0; i < m; i++) {
      const lim = i - i % BLOCK;
      for (let j = 0; j < lim; j++) out[i * n2 + j] = out[j * n2 + i];
    }
  }
  return out;
}
function block4x4(a2, b, pa, pb, k, stride, out, pc, n2) {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const pa1 = pa + stride, pa2 = pa + 2 * stride, pa3 = pa + 3 * stride;
  const pb1 = pb + stride, pb2 = pb + 2 * stride, pb3 = pb + 3 * stride;
  for (let t2 = 0; t2 < k; t2++) {
    const x0 = a2[pa + t2], x1 = a2[pa1 + t2], x2 = a2[pa2 + t2], x3 = a2[pa3 + t2];
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
  pc += n2;
  out[pc] += c10;
  out[pc + 1] += c11;
  out[pc + 2] += c12;
  out[pc + 3] += c13;
  pc += n2;
  out[pc] += c20;
  out[pc + 1] += c21;
  out[pc + 2] += c22;
  out[pc + 3] += c23;
  pc += n2;
  out[pc] += c30;
  out[pc + 1] += c31;
  out[pc + 2] += c32;
  out[pc + 3] += c33;
}
function blockEdge(a2, b, a0, b0, i0, i1, j0, j1, k, stride, out, n2) {
  for (let i = i0; i < i1; i++) {
    const pa = a0 + i * stride;
    for (let j = j0; j < j1; j++) {
      const pb = b0 + j * stride;
      let s = 0;
      for (let t2 = 0; t2 < k; t2++) s += a2[pa + t2] * b[pb + t2];
      out[i * n2 + j] += s;
    }
  }
}

// cmp.ts
for (const [n2, r] of [[1, 1], [2, 2], [3, 3], [7, 2], [50, 50], [64, 10], [300, 300], [301, 100]]) {
  const x2 = new Float64Array(n2 * r).map(() => Math.random() - 0.5);
  const a2 = new Float64Array(n2 * n2);
  gemmNT(x2, x2, n2, n2, r, a2, { symmetric: true });
  if (n2 > 5) for (let k = 0; k < n2; k++) {
    a2[2 * n2 + k] = 0;
    a2[k * n2 + 2] = 0;
  }
  for (const vectors of [true, false]) {
    const A = symEigen(a2, n2, { vectors }), B = symEigen2(a2, n2, { vectors });
    let dv = 0, dw = 0;
    for (let i = 0; i < n2; i++) dv = Math.max(dv, Math.abs(A.values[i] - B.values[i]));
    for (let i = 0; i < A.vectors.length; i++) dw = Math.max(dw, Math.abs(A.vectors[i] - B.vectors[i]));
    console.log(n2, r, vectors, dv, dw);
  }
}
var n = 2048;
var x = new Float64Array(n * n).map(() => Math.random() - 0.5);
var a = new Float64Array(n * n);
gemmNT(x, x, n, n, n, a, { symmetric: true });
var t = performance.now();
symEigen(a, n, { vectors: false });
console.log("2048 values-only", (performance.now() - t) / 1e3);
