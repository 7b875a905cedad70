// @farmer/core benchmarks: matMul GFLOP/s per backend, the train step of a small
// causal Transformer, and the wasm BatchMatMul-gradient fix as a same-run ratio.
import { initBackend, registerFastBatchMatMulGrad, restoreBuiltinBatchMatMulGrad, Rng, tf } from '@farmer/core';
import { fmt, table, timeIt } from './util.mjs';

async function matmulGflops(n, reps) {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const s = await timeIt(() => tf.tidy(() => tf.matMul(a, b)).dataSync() && undefined, { warmup: 1, reps });
  tf.dispose([a, b]);
  return (2 * n ** 3) / s / 1e9;
}

/** A 2-layer pre-norm causal Transformer, width 128, 4 heads; returns a train step. */
function makeTransformerStep({ layers = 2, width = 128, heads = 4, batch = 16, tokens = 64 } = {}) {
  const rng = new Rng(0);
  const v = (shape, std = 0.02) => tf.variable(rng.normalTensor(shape, std));
  const params = [];
  for (let l = 0; l < layers; l++) {
    params.push({ qkv: v([width, 3 * width]), proj: v([width, width]), up: v([width, 4 * width]), down: v([4 * width, width]) });
  }
  const head = v([width, width]);
  const x = rng.normalTensor([batch, tokens, width]);
  const y = rng.normalTensor([batch, tokens, width]);
  const mask = tf.linalg.bandPart(tf.ones([tokens, tokens]), -1, 0);
  const negInf = tf.mul(tf.sub(1, mask), -1e9);
  const hd = width / heads;
  const lin = (h, w) => tf.reshape(tf.matMul(tf.reshape(h, [-1, h.shape[2]]), w), [batch, tokens, w.shape[1]]);
  const ln = (h) => {
    const { mean, variance } = tf.moments(h, -1, true);
    return tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5)));
  };
  const forward = () => {
    let h = x;
    for (const p of params) {
      const qkv = lin(ln(h), p.qkv);
      const split = tf.transpose(tf.reshape(qkv, [batch, tokens, 3, heads, hd]), [2, 0, 3, 1, 4]);
      const [q, k, vv] = tf.unstack(split);
      const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, tf.transpose(k, [0, 1, 3, 2])), 1 / Math.sqrt(hd)), negInf));
      const o = tf.reshape(tf.transpose(tf.matMul(att, vv), [0, 2, 1, 3]), [batch, tokens, width]);
      h = tf.add(h, lin(o, p.proj));
      h = tf.add(h, lin(tf.gelu ? tf.gelu(lin(ln(h), p.up)) : tf.relu(lin(ln(h), p.up)), p.down));
    }
    return tf.mean(tf.square(tf.sub(lin(h, head), y)));
  };
  const opt = tf.train.adam(1e-3);
  const vars = [...params.flatMap((p) => Object.values(p)), head];
  const step = () => {
    const loss = opt.minimize(forward, true, vars);
    loss.dataSync();
    loss.dispose();
  };
  const dispose = () => tf.dispose([...vars, x, y, mask, negInf, opt]);
  return { step, dispose };
}

export async function benchCore() {
  const rows = [];
  let ratio;
  for (const name of ['tensorflow', 'wasm', 'cpu']) {
    let info;
    try {
      info = await initBackend({ backend: name });
    } catch (e) {
      console.log(`(${name}: not available — ${e.message.split('\n')[1]?.trim() ?? e.message})`);
      continue;
    }
    const slow = name === 'cpu';
    const g512 = await matmulGflops(512, slow ? 2 : 5);
    const g1024 = await matmulGflops(1024, slow ? 1 : 3);
    const t = makeTransformerStep();
    const reps = slow ? 2 : 5;
    const stepS = await timeIt(t.step, { warmup: 1, reps });
    let builtinS;
    if (info.fastMatMulGrad) {
      restoreBuiltinBatchMatMulGrad();
      builtinS = await timeIt(t.step, { warmup: 1, reps });
      registerFastBatchMatMulGrad();
      ratio = builtinS / stepS;
    }
    t.dispose();
    rows.push({
      backend: name,
      'matMul 512³ GFLOP/s': fmt(g512, 1),
      'matMul 1024³ GFLOP/s': fmt(g1024, 1),
      'train step s (2L w128 B16 T64)': fmt(stepS, 3),
      'same, built-in matMul grad s': builtinS === undefined ? '-' : fmt(builtinS, 3),
    });
  }
  console.log('\n## core: backends');
  table(rows);
  if (ratio !== undefined) console.log(`wasm BatchMatMul gradient fix: ${fmt(ratio, 2)}× faster train step (same run)`);
  await initBackend();
}
