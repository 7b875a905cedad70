// apps/server benchmark: sustained requests/s and p50/p99 latency at concurrency 1 and 4,
// from a loopback client, bounded in count and time. Model: mnist-small (random weights,
// or the built-in model when it exists).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinModelDir, initBackend } from '@farmer/core';
import { saveFarmer } from '@farmer/ar-gmm';
import { startServer } from '@farmer/server';
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

export async function benchServer({ runtimeLabel = 'tfjs', openRunner } = {}) {
  await initBackend();
  const dir = await modelDir();
  const server = await startServer({ models: dir, port: 0, logger: false, concurrency: 4, queueSize: 16, openRunner });
  const name = server.models.ready[0];
  const url = `${server.url}/v1/models/${name}/generate`;
  const rows = [];
  try {
    for (const clients of [1, 4]) {
      await load(url, (i) => ({ labels: i % 10, seed: i, format: 'png' }), { clients, count: clients * 2, seconds: 60 });
      const r = await load(url, (i) => ({ labels: i % 10, seed: 1000 + i, format: 'png' }), { clients, count: 12 * clients, seconds: 90 });
      rows.push({ runtime: runtimeLabel, concurrency: clients, requests: r.n, 'req/s': fmt(r.rps, 2), 'p50 ms': fmt(r.p50, 0), 'p99 ms': fmt(r.p99, 0) });
    }
  } finally {
    await server.close();
  }
  console.log(`\n## server: POST generate (1 image, CFG, PNG) on mnist-small from a loopback client`);
  table(rows);
  return rows;
}
