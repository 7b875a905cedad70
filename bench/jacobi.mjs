// GS-Jacobi decoding of the AF (docs/method.md §3.13 Jacobi decoding), on the built-in models:
// 1. agreement: Jacobi images against the sequential exact inverse, on onnxruntime-node, for
//    resampling CFG and decoupled, at the default tolerance (the bar: ≤ 1 grey level on ≥ 99.9%
//    of pixels), and the trade-off curve over tolerances;
// 2. speed: AF-decode seconds per image at batch 1, 4 and 16 for the exact inverse (as each runtime
//    runs it today: one ONNX Loop call per block), Jacobi and the student, on onnxruntime-node and
//    in headless Chromium (onnxruntime-web wasm, the playground page driven through its
//    controls), with Jacobi's mean passes per block. Runtimes and decoders alternate run by run
//    (the machine is shared and noisy); medians. Only generate()'s AF time is counted.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { builtinModelDir } from '@farmer/models';
import { describeExecutionProvider, loadOrtRunner } from '@farmer/onnx/runtime';
import { generate } from '@farmer/sampling';
import { CHROMIUM, launchChromium } from '../apps/playground/scripts/chromium.mjs';
import { builtinExportMounts } from '../apps/playground/scripts/builtin-exports.mjs';
import { serveStatic } from '../apps/playground/scripts/static-server.mjs';
import { fmt, median, table } from './util.mjs';

const DIST = new URL('../apps/playground/dist/', import.meta.url).pathname;
const MODELS = (process.env.FARMER_JACOBI_MODELS ?? 'mnist-small,fashion-small').split(',');
const REPS = Number(process.env.FARMER_JACOBI_REPS ?? 3);
const AGREE_COUNT = Number(process.env.FARMER_JACOBI_IMAGES ?? 100);

const labelsOf = (n, classes, cfg) => Array.from({ length: n }, (_, i) => (cfg ? i % classes : -1));

/** Share of pixels within one grey level, and the largest difference, of two u8 image sets. */
function agreement(a, b) {
  let within = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d <= 1) within++;
    if (d > max) max = d;
  }
  return { within: within / a.length, max };
}

/** Jacobi against the exact inverse on `count` images of one sampler, at each tolerance. */
async function agreementRows(runner, name, cfg, tolerances) {
  const classes = runner.config.numClasses;
  const base = { count: AGREE_COUNT, batchSize: 20, labels: labelsOf(AGREE_COUNT, classes, cfg), seed: 11, sampler: cfg ? 'resampling-cfg' : 'decoupled' };
  const exact = await generate(runner, { ...base, decoder: 'flow' });
  const rows = [];
  for (const tolerance of tolerances) {
    const r = await generate(runner, { ...base, decoder: 'jacobi', jacobi: { tolerance } });
    const a = agreement(exact.images.data, r.images.data);
    const it = r.timings.jacobiIterations;
    rows.push({
      model: name,
      sampler: base.sampler,
      tolerance,
      'pixels ≤ 1 level': `${fmt(100 * a.within, 3)}%`,
      'max diff': a.max,
      'passes / block (n−1 … 0)': it.slice().reverse().map((v) => fmt(v, 1)).join(' '),
      'AF s/img exact': fmt(exact.timings.afSeconds / AGREE_COUNT, 4),
      'AF s/img jacobi': fmt(r.timings.afSeconds / AGREE_COUNT, 4),
    });
  }
  return rows;
}

/** AF seconds per image of one generate() on onnxruntime-node (and Jacobi's passes per block). */
async function nodeOnce(runner, c, seed) {
  const r = await generate(runner, { count: c.batch, batchSize: c.batch, labels: labelsOf(c.batch, runner.config.numClasses, true), seed, decoder: c.decoder });
  return { s: r.timings.afSeconds / c.batch, passes: r.timings.jacobiIterations };
}

/** AF seconds per image of one generation on the page, set through its controls. */
async function pageOnce(page, c, classes, seed) {
  await page.fill('#labels', labelsOf(c.batch, classes, true).join(','));
  await page.fill('#seed', String(seed));
  await page.selectOption('#sampler', 'resampling-cfg');
  await page.selectOption('#decoder', c.decoder);
  await page.fill('#batch', String(c.batch));
  await page.evaluate(() => (window.farmerPlayground.state.last = undefined));
  await page.click('#generate');
  await page.waitForFunction(() => window.farmerPlayground.state.last !== undefined || !document.getElementById('error').hidden, undefined, { timeout: 600_000 });
  const r = await page.evaluate(() => (document.getElementById('error').hidden ? window.farmerPlayground.state.last.timings : document.getElementById('error').textContent));
  if (typeof r === 'string') throw new Error(`the page shows an error: ${r}`);
  return { s: r.afSeconds / c.batch, passes: r.jacobiIterations };
}

const meanPasses = (runs) => {
  const ps = runs.map((r) => r.passes).filter(Boolean);
  if (!ps.length) return '';
  const per = ps[0].map((_, b) => ps.reduce((a, p) => a + p[b], 0) / ps.length);
  return `${fmt(per.reduce((a, v) => a + v, 0) / per.length, 1)} (${per.slice().reverse().map((v) => fmt(v, 0)).join(' ')})`;
};

export async function benchJacobi() {
  console.log(`\n## jacobi: GS-Jacobi AF decoding on the built-in models (${cpus().length} cores, load ${(await import('node:os')).loadavg()[0].toFixed(2)})`);
  for (const name of MODELS) {
    const runner = await loadOrtRunner(join(builtinModelDir(name), 'onnx'), { purposes: ['sample'] });
    try {
      if (!runner.decoders.includes('jacobi')) throw new Error(`${name}'s export has no Jacobi pass graphs: npm run farmer -- export onnx --model ${name} --force`);
      console.log(`\n### ${name}: Jacobi vs the sequential exact inverse, ${AGREE_COUNT} images per sampler, onnxruntime-node ${describeExecutionProvider(runner.executionProvider)}`);
      console.log(`plan: ${runner.jacobiPlan ? `tough blocks [${runner.jacobiPlan.tough.join(', ')}], ${runner.jacobiPlan.modules} module(s), start ${runner.jacobiPlan.init.join(' ')}` : 'none (plain Jacobi from the latent)'}`);
      const rows = [];
      for (const cfg of [true, false]) rows.push(...(await agreementRows(runner, name, cfg, cfg ? [1e-2, 1e-3, 1e-4, 1e-5] : [1e-4])));
      table(rows);
    } finally {
      await runner.dispose();
    }
  }

  const chromium = existsSync(CHROMIUM) && existsSync(join(DIST, 'index.html'));
  const server = chromium ? await serveStatic({ root: DIST, mounts: builtinExportMounts() }) : undefined;
  const browser = chromium ? await launchChromium() : undefined;
  if (!chromium) console.log(`(Chromium column skipped: needs ${CHROMIUM} and a built ${DIST}: npx nx run @farmer/playground:build)`);
  try {
    for (const name of MODELS) {
      const runner = await loadOrtRunner(join(builtinModelDir(name), 'onnx'), { purposes: ['sample'] });
      const classes = runner.config.numClasses;
      let page;
      if (browser) {
        page = await browser.context.newPage();
        await page.goto(`${server.url}?ep=wasm&model=builtin:${name}`);
        await page.waitForFunction(() => !document.getElementById('generate').disabled || !document.getElementById('error').hidden, undefined, { timeout: 120_000 });
        if (await page.evaluate(() => !document.getElementById('error').hidden)) throw new Error(`the page did not load ${name}: ${await page.textContent('#error')}`);
      }
      const rows = [];
      try {
        for (const batch of [1, 4, 16]) {
          const runs = {};
          const decoders = ['flow', 'jacobi', ...(runner.decoders.includes('student') ? ['student'] : [])];
          for (const decoder of decoders) runs[decoder] = { node: [], web: [] };
          for (let k = -1; k < REPS; k++) {
            for (const decoder of decoders) {
              const c = { batch, decoder };
              const n = await nodeOnce(runner, c, 100 + k);
              const w = page ? await pageOnce(page, c, classes, 100 + k) : undefined;
              if (k < 0) continue; // warm-up
              runs[decoder].node.push(n);
              if (w) runs[decoder].web.push(w);
            }
          }
          const exactNode = median(runs.flow.node.map((r) => r.s));
          const exactWeb = page ? median(runs.flow.web.map((r) => r.s)) : NaN;
          for (const decoder of decoders) {
            const node = median(runs[decoder].node.map((r) => r.s));
            const web = page ? median(runs[decoder].web.map((r) => r.s)) : NaN;
            rows.push({
              batch,
              decoder: decoder === 'flow' ? 'exact (Loop per block)' : decoder,
              'node s/img': fmt(node, 4),
              'node × exact': `${fmt(exactNode / node, 2)}×`,
              'Chromium s/img': fmt(web, 4),
              'Chromium × exact': `${fmt(exactWeb / web, 2)}×`,
              'passes/block mean (n−1 … 0)': meanPasses([...runs[decoder].node, ...runs[decoder].web]),
            });
          }
        }
      } finally {
        await page?.close();
        await runner.dispose();
      }
      console.log(`\n### ${name}: AF-decode seconds per image (generate()'s afSeconds / batch, resampling CFG), medians of ${REPS} after a warm-up`);
      table(rows);
    }
  } finally {
    await browser?.close();
    await server?.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchJacobi();
