// The playground: seconds per image of generate() for the built-in mnist-small in headless
// Chromium (onnxruntime-web wasm, apps/playground/dist served with COOP/COEP, so threaded)
// next to onnxruntime-node on this machine, at batch 1 and 16, resampling CFG and decoupled,
// exact flow and student decoders. The page is driven through its controls and timed by the
// timings of generate() it keeps (state.last), so drawing the images is not counted.
// Runtimes alternate run by run (the machine is shared and noisy); medians.
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

/** The labels of one case: classes 0..9 cycling with CFG, unconditional (-1) without. */
const labelsOf = (batch, cfg) => Array.from({ length: batch }, (_, i) => (cfg ? i % 10 : -1));

/** Seconds per image of one generate() on onnxruntime-node. */
async function nodeOnce(runner, { batch, cfg, decoder }, seed) {
  const r = await generate(runner, { count: batch, batchSize: batch, labels: labelsOf(batch, cfg), seed, sampler: cfg ? 'resampling-cfg' : 'decoupled', decoder });
  return r.timings.totalSeconds / batch;
}

/** Seconds per image of one generation on the page, set through its controls. */
async function pageOnce(page, { batch, cfg, decoder }, seed) {
  await page.fill('#labels', labelsOf(batch, cfg).join(','));
  await page.fill('#seed', String(seed));
  await page.selectOption('#sampler', cfg ? 'resampling-cfg' : 'decoupled');
  await page.selectOption('#decoder', decoder);
  await page.fill('#batch', String(batch));
  await page.evaluate(() => (window.farmerPlayground.state.last = undefined));
  await page.click('#generate');
  await page.waitForFunction(() => window.farmerPlayground.state.last !== undefined || !document.getElementById('error').hidden, undefined, { timeout: 600_000 });
  const r = await page.evaluate(() => (document.getElementById('error').hidden ? window.farmerPlayground.state.last.timings.totalSeconds : document.getElementById('error').textContent));
  if (typeof r === 'string') throw new Error(`the page shows an error: ${r}`);
  return r / batch;
}

export async function benchPlayground() {
  if (!existsSync(CHROMIUM) || !existsSync(join(DIST, 'index.html'))) {
    console.log(`\n## playground: skipped (needs ${CHROMIUM} and a built ${DIST}: npx nx run @farmer/playground:build)`);
    return;
  }
  const server = await serveStatic({ root: DIST, mounts: builtinExportMounts() });
  const browser = await launchChromium();
  const { context } = browser;
  const runner = await loadOrtRunner(join(builtinModelDir(), 'onnx'), { purposes: ['sample'] });
  try {
    const page = await context.newPage();
    await page.goto(`${server.url}?ep=wasm`);
    await page.waitForFunction(() => !document.getElementById('generate').disabled || !document.getElementById('error').hidden, undefined, { timeout: 120_000 });
    const status = await page.textContent('#model-status');
    if (await page.evaluate(() => !document.getElementById('error').hidden)) throw new Error(`the page did not load its model: ${await page.textContent('#error')}`);
    const reps = Number(process.env.FARMER_PLAYGROUND_REPS ?? 2);
    const rows = [];
    for (const batch of [1, 16]) {
      for (const cfg of [true, false]) {
        for (const decoder of ['flow', 'student']) {
          const c = { batch, cfg, decoder };
          await nodeOnce(runner, c, 1);
          await pageOnce(page, c, 1);
          const n = [];
          const p = [];
          for (let k = 0; k < reps; k++) {
            n.push(await nodeOnce(runner, c, 2 + k));
            p.push(await pageOnce(page, c, 2 + k));
          }
          const [node, web] = [median(n), median(p)];
          rows.push({ batch, sampler: cfg ? 'resampling-cfg' : 'decoupled', decoder, 'node ORT s/img': fmt(node, 3), 'Chromium s/img': fmt(web, 3), 'Chromium / node': `${fmt(web / node, 2)}×` });
        }
      }
    }
    console.log(`\n## playground: generate() on the built-in mnist-small, seconds per image, headless Chromium vs node (${cpus().length} cores)`);
    console.log(`page: ${status}; node: onnxruntime-node ${describeExecutionProvider(runner.executionProvider)}.`);
    console.log(`Medians of ${reps} runs after a warm-up, runtimes alternating; generate() timings only (not drawing).`);
    table(rows);
  } finally {
    await runner.dispose();
    await browser.close();
    await server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchPlayground();
