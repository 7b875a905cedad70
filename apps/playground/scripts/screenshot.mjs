#!/usr/bin/env node
// The README's screenshot (docs/playground.png): the built page in headless Chromium with
// ten generated digits (labels 0–9, seed 1, resampling CFG) and a scored stroke on the pad
// (its bits/dim and class probabilities).
// Usage: node apps/playground/scripts/screenshot.mjs [OUT.png]  (after building the page).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { builtinExportMounts } from './builtin-exports.mjs';
import { serveStatic } from './static-server.mjs';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(app, '..', '..', 'docs', 'playground.png'));
const server = await serveStatic({ root: join(app, 'dist'), mounts: builtinExportMounts() });
const browser = await launchChromium({ width: 1280, height: 860 });
const { context } = browser;
try {
  const page = await context.newPage();
  await page.goto(`${server.url}?labels=0,1,2,3,4,5,6,7,8,9&seed=1&sampler=resampling-cfg`);
  const ready = () => !document.getElementById('generate').disabled || !document.getElementById('error').hidden;
  await page.waitForFunction(ready, undefined, { timeout: 120_000 });
  await page.click('#generate');
  await page.waitForFunction(() => window.farmerPlayground.state.last !== undefined || !document.getElementById('error').hidden, undefined, { timeout: 600_000 });
  const pad = await page.locator('#pad').boundingBox();
  await page.mouse.move(pad.x + pad.width * 0.5, pad.y + pad.height * 0.2);
  await page.mouse.down();
  for (let k = 1; k <= 12; k++) await page.mouse.move(pad.x + pad.width * (0.5 - 0.004 * k), pad.y + pad.height * (0.2 + 0.05 * k));
  await page.mouse.up();
  await page.click('#pad-score');
  await page.waitForFunction(() => /bits\/dim/.test(document.getElementById('bpd').textContent) || !document.getElementById('error').hidden, undefined, { timeout: 120_000 });
  if (await page.evaluate(() => !document.getElementById('error').hidden)) throw new Error(`the page shows an error: ${await page.textContent('#error')}`);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}
