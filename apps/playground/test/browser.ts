import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
// @ts-expect-error: a plain ESM script without types (its JSDoc documents it)
import { CHROMIUM, launchChromium as launchChromiumScript } from '../scripts/chromium.mjs';
// @ts-expect-error: a plain ESM script without types (its JSDoc documents it)
import { serveStatic } from '../scripts/static-server.mjs';
// @ts-expect-error: a plain ESM script without types (its JSDoc documents it)
import { builtinExportMounts } from '../scripts/builtin-exports.mjs';

export const APP = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(APP, 'dist');
export const REPO = join(APP, '..', '..');

export { CHROMIUM };

/**
 * Whether the browser tests can run. In CI they must: a missing Chromium or
 * build is an error there, never a silent skip.
 */
export function browserTestsCanRun(): boolean {
  const missing = [!existsSync(CHROMIUM) && `${CHROMIUM} (apt-get install -y chromium)`, !existsSync(join(DIST, 'index.html')) && `${DIST} (npx nx run @farmer/playground:build)`].filter(Boolean);
  if (!missing.length) return true;
  const message = `the playground's browser tests need ${missing.join(' and ')}`;
  if (process.env.CI) throw new Error(`${message}; in CI they never skip`);
  console.warn(`SKIPPED: ${message}`);
  return false;
}

export interface Served {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `root` (and `mounts`, URL prefix → folder) on 127.0.0.1, with the
 * cross-origin isolation headers unless `isolation` is false. The built-in
 * models' exports are mounted beside the page, from the installed model
 * packages, as `npm run playground` and `farmer serve` serve them.
 */
export function serve(root: string, options: { isolation?: boolean; mounts?: Record<string, string> } = {}): Promise<Served> {
  return serveStatic({ root, isolation: options.isolation ?? true, mounts: { ...(builtinExportMounts() as Record<string, string>), ...options.mounts } }) as Promise<Served>;
}

/** A fresh headless Chromium with its own profile; close() removes it. */
export const launchChromium: () => Promise<{ context: BrowserContext; close(): Promise<void> }> = launchChromiumScript;

/** Opens the page and waits until its model is loaded (or an error is shown). Returns the status line. */
export async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => !(document.getElementById('generate') as HTMLButtonElement).disabled || !document.getElementById('error')!.hidden, undefined, { timeout: 120_000 });
  return page;
}

/** The error box's text, or null when none is shown. */
export function pageError(page: Page): Promise<string | null> {
  return page.evaluate(() => (document.getElementById('error')!.hidden ? null : document.getElementById('error')!.textContent));
}

/** Clicks Generate and waits for the images; returns each image's grey values (the red channel of its canvas, HW). */
export async function generateOnPage(page: Page, timeoutMs = 300_000): Promise<{ images: Uint8Array[]; labels: number[]; seconds: number }> {
  await page.evaluate(() => {
    (window as unknown as { farmerPlayground: { state: { last?: unknown } } }).farmerPlayground.state.last = undefined;
  });
  await page.click('#generate');
  await page.waitForFunction(() => (window as unknown as { farmerPlayground: { state: { last?: unknown } } }).farmerPlayground.state.last !== undefined || !document.getElementById('error')!.hidden, undefined, {
    timeout: timeoutMs,
  });
  const err = await pageError(page);
  if (err) throw new Error(`the page shows an error: ${err}`);
  const r = await page.evaluate(() => {
    const canvases = [...document.querySelectorAll<HTMLCanvasElement>('#results canvas.sample')];
    const state = (window as unknown as { farmerPlayground: { state: { last: { timings: { totalSeconds: number } } } } }).farmerPlayground.state;
    return {
      images: canvases.map((c) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        return Array.from({ length: c.width * c.height }, (_, i) => d[4 * i]);
      }),
      labels: canvases.map((c) => Number(c.dataset.label)),
      seconds: state.last.timings.totalSeconds,
    };
  });
  return { images: r.images.map((a) => Uint8Array.from(a)), labels: r.labels, seconds: r.seconds };
}
