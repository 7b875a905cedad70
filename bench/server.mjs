// apps/server benchmark: sustained requests/s and p50/p99 latency of 1-image CFG PNG requests
// from a loopback client at client concurrency 1 and 4, bounded in count and time, for the
// server's old defaults and its new ones side by side in one run. Model: the built-in
// mnist-small (random weights when it is missing).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@farmer/core';
import { builtinModelDir } from '@farmer/models';
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

/**
 * The two settings compared. The old defaults: tfjs (the built-in model had no export,
 * and the old `auto` used one only when present) at --concurrency 1, where no two
 * requests ever shared a pass (the old batcher ran inside the one job slot); for
 * 1-image requests --batch-size 1 reproduces that. The new defaults: no options at all.
 */
const SETTINGS = [
  { name: 'old defaults', what: 'tfjs, --concurrency 1, no shared passes', options: { runtime: 'tfjs', concurrency: 1, batchSize: 1 } },
  { name: 'new defaults', what: 'auto (onnxruntime), --concurrency 1, batching before admission', options: {} },
];

async function serverRows(dir, setting) {
  const server = await startServer({ models: dir, port: 0, logger: false, queueSize: 16, ...setting.options });
  const name = server.models.ready[0];
  const url = `${server.url}/v1/models/${name}/generate`;
  const rows = [];
  try {
    const runtime = (await (await fetch(`${server.url}/v1/models/${name}`)).json()).runtime;
    for (const clients of [1, 4]) {
      await load(url, (i) => ({ labels: i % 10, seed: i, format: 'png' }), { clients, count: clients * 2, seconds: 60 });
      const before = await batchCount(server.url);
      const r = await load(url, (i) => ({ labels: i % 10, seed: 1000 + i, format: 'png' }), { clients, count: 12 * clients, seconds: 90 });
      const jobs = (await batchCount(server.url)) - before;
      rows.push({ settings: setting.name, runtime, clients, requests: r.n, 'req/s': fmt(r.rps, 2), 'p50 ms': fmt(r.p50, 0), 'p99 ms': fmt(r.p99, 0), 'requests/pass': fmt(r.n / jobs, 2) });
    }
  } finally {
    await server.close();
  }
  return rows;
}

/** Generation passes so far (the count of the farmer_job_requests histogram). */
async function batchCount(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^farmer_job_requests_count (\S+)$/m.exec(text)?.[1] ?? NaN);
}

/** The server at its old and its new defaults, side by side, at client concurrency 1 and 4. */
export async function benchServer() {
  await initBackend();
  const dir = await modelDir();
  const rows = [];
  for (const s of SETTINGS) rows.push(...(await serverRows(dir, s)));
  console.log(`\n## server: POST generate (1 image, CFG, PNG) on ${dir.split('/').pop()} from a loopback client, old vs new defaults`);
  for (const s of SETTINGS) console.log(`- ${s.name}: ${s.what}`);
  table(rows);
  const rps = (settings, c) => Number(rows.find((r) => r.settings === settings && r.clients === c)['req/s']);
  const check = (label, value, target) => console.log(`${label}: ${fmt(value, 2)}× (target ≥ ${target}×: ${value >= target ? 'met' : 'NOT met'})`);
  check('new vs old defaults, 1 client', rps('new defaults', 1) / rps('old defaults', 1), 5);
  check('new vs old defaults, 4 clients', rps('new defaults', 4) / rps('old defaults', 4), 5);
  check('new defaults, 4 clients vs 1 (batching at the default settings)', rps('new defaults', 4) / rps('new defaults', 1), 1.5);
  return rows;
}
