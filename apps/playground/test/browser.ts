import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodePng } from '@farmer/core';
import { compareRuntimeImages } from '@farmer/sampling';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
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

/**
 * Clicks Generate and waits for the images; returns each image as its canvas
 * holds it, HWC with `channels` values a pixel (1: the red channel, as grey
 * images are drawn R = G = B; 3: RGB).
 */
export async function generateOnPage(page: Page, timeoutMs = 300_000, channels: 1 | 3 = 1): Promise<{ images: Uint8Array[]; labels: number[]; seconds: number }> {
  await page.evaluate(() => {
    (window as unknown as { farmerPlayground: { state: { last?: unknown } } }).farmerPlayground.state.last = undefined;
  });
  await page.click('#generate');
  await page.waitForFunction(() => (window as unknown as { farmerPlayground: { state: { last?: unknown } } }).farmerPlayground.state.last !== undefined || !document.getElementById('error')!.hidden, undefined, {
    timeout: timeoutMs,
  });
  const err = await pageError(page);
  if (err) throw new Error(`the page shows an error: ${err}`);
  const r = await page.evaluate((c) => {
    const canvases = [...document.querySelectorAll<HTMLCanvasElement>('#results canvas.sample')];
    const state = (window as unknown as { farmerPlayground: { state: { last: { timings: { totalSeconds: number } } } } }).farmerPlayground.state;
    return {
      images: canvases.map((canvas) => {
        const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        return Array.from({ length: canvas.width * canvas.height * c }, (_, i) => d[4 * Math.floor(i / c) + (i % c)]);
      }),
      labels: canvases.map((canvas) => Number(canvas.dataset.label)),
      seconds: state.last.timings.totalSeconds,
    };
  }, channels);
  return { images: r.images.map((a) => Uint8Array.from(a)), labels: r.labels, seconds: r.seconds };
}

/**
 * `farmer sample --runtime onnx ARGS` into a temporary folder: each image of
 * its `--separate` PNGs, HWC with `channels` values a pixel (1: the first of
 * the PNG's channels), and its label (from the file name).
 */
export function cliSamples(args: string[], channels: 1 | 3 = 1): { images: Uint8Array[]; labels: number[] } {
  const dir = mkdtempSync(join(tmpdir(), 'farmer-playground-cli-'));
  try {
    execFileSync(process.execPath, [join(REPO, 'apps/cli/dist/bin.js'), 'sample', '--runtime', 'onnx', ...args, '--separate', join(dir, 'images'), '--out', join(dir, 'grid.png'), '--quiet'], {
      stdio: 'pipe',
    });
    const files = readdirSync(join(dir, 'images')).sort();
    return {
      images: files.map((f) => {
        const im = decodePng(new Uint8Array(readFileSync(join(dir, 'images', f))), 3);
        return channels === 3 ? im.data : im.data.filter((_, i) => i % 3 === 0);
      }),
      labels: files.map((f) => Number(/label(-?\d+)\.png$/.exec(f)![1])),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `farmer serve ARGS` on a free port; resolves with its base URL once it listens. */
export function farmerServe(args: string[] = []): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(REPO, 'apps/cli/dist/bin.js'), 'serve', '--port', '0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /serving \d+ model\(s\) at (http:\/\/\S+) /.exec(out);
      if (m) resolve({ url: m[1], child });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`farmer serve exited with ${code}: ${out}`)));
  });
}

/**
 * The page's images against `farmer sample --runtime onnx` with the same
 * settings ({@link cliSamples}), image by image (not the grid), square images
 * of `channels` values a pixel. onnxruntime-web's wasm kernels and
 * onnxruntime-node's native CPU kernels round differently, so the rule is the
 * one for any two runtimes, `compareRuntimeImages`
 * (docs/method.md §7.10 Runtime agreement).
 */
export function expectSameImages(page: { images: Uint8Array[]; labels: number[] }, cli: { images: Uint8Array[]; labels: number[] }, channels: 1 | 3 = 1): void {
  expect(page.labels).toEqual(cli.labels);
  expect(page.images.length).toBe(cli.images.length);
  const side = Math.sqrt(cli.images[0].length / channels);
  const set = (images: Uint8Array[]) => ({ data: Uint8Array.from(images.flatMap((im) => [...im])), count: images.length, height: side, width: side, channels });
  const r = compareRuntimeImages(set(page.images), set(cli.images));
  console.log(`page vs farmer sample --runtime onnx: ${r.summary}`);
  expect(r.holds, r.summary).toBe(true);
}
