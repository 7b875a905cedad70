// apps/server benchmark: sustained requests/s and p50/p99 latency at concurrency 1 and 4,
// from a loopback client, bounded in count and time. Model: mnist-small (random weights,
// or the built-in model when it exists), served on tfjs and on onnxruntime.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinModelDir, initBackend } from '@farmer/core';
import { saveFarmer } from '@farmer/ar-gmm';
import { startServer } from '@farmer/server';
import { exportOnnx } from '@farmer/onnx';
import { fmt, table } from './util.mjs';
import { benchModel } from './sampling.mjs';

async function modelDir() {
  try {
    return builtinModelDir();
  } catch {
    const dir = join(mkdtempSync(join(tmpdir(), 'farmer-bench-')), 'mnist-small');
    const m = benchModel();
    await saveFarmer(dir, m);
    m.dispose();
    return dir;
  }
}

/** Fires requests from `clients` loops until `count` are done or `seconds` pass. */
async function load(url, body, { clients, count, seconds }) {
  const lat = [];
  let sent = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const loop = async () => {
    while (sent < count && performance.now() < deadline) {
      sent++;
      const t = performance.now();
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(sent)) });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
      lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { n: lat.length, rps: lat.length / wall, p50: q(0.5), p99: q(0.99) };
}

async function serverRows(dir, runtime) {
  const server = await startServer({ models: dir, port: 0, logger: false, concurrency: 4, queueSize: 16, runtime });
  const name = server.models.ready[0];
  const url = `${server.url}/v1/models/${name}/generate`;
  const rows = [];
  try {
    for (const clients of [1, 4]) {
      await load(url, (i) => ({ labels: i % 10, seed: i, format: 'png' }), { clients, count: clients * 2, seconds: 60 });
      const r = await load(url, (i) => ({ labels: i % 10, seed: 1000 + i, format: 'png' }), { clients, count: 12 * clients, seconds: 90 });
      rows.push({ runtime, concurrency: clients, requests: r.n, 'req/s': fmt(r.rps, 2), 'p50 ms': fmt(r.p50, 0), 'p99 ms': fmt(r.p99, 0) });
    }
  } finally {
    await server.close();
  }
  return rows;
}

/** The same model served on tfjs and on onnxruntime (its export in `<model>/onnx`, which --runtime onnx uses). */
export async function benchServer() {
  await initBackend();
  const src = await modelDir();
  const dir = join(mkdtempSync(join(tmpdir(), 'farmer-bench-')), 'mnist-small');
  cpSync(src, dir, { recursive: true });
  await exportOnnx(dir, join(dir, 'onnx'));
  const rows = [...(await serverRows(dir, 'tfjs')), ...(await serverRows(dir, 'onnx'))];
  console.log(`\n## server: POST generate (1 image, CFG, PNG) on mnist-small from a loopback client, per runtime`);
  table(rows);
  const rps = (rt, c) => Number(rows.find((r) => r.runtime === rt && r.concurrency === c)['req/s']);
  console.log(`onnx vs tfjs requests/s: ${fmt(rps('onnx', 1) / rps('tfjs', 1), 2)}× at concurrency 1, ${fmt(rps('onnx', 4) / rps('tfjs', 4), 2)}× at 4`);
  return rows;
}
