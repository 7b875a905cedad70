import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePng } from '@farmer/core';
import { compareRuntimeImages } from '@farmer/sampling';
import { imagesSha256, REFERENCE_CASES, u8Diff } from '@farmer/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsCanRun, DIST, generateOnPage, launchChromium, openPage, pageError, REPO, serve, type Served } from './browser.js';

/**
 * The page's images against `farmer sample --runtime onnx` with the same
 * settings, image by image (not the grid). onnxruntime-web's wasm kernels
 * and onnxruntime-node's native CPU kernels round differently, so the rule
 * is the one for any two runtimes, `compareRuntimeImages`
 * (docs/method.md §7.10 runtime agreement).
 */
function cliSamples(args: string[]): { images: Uint8Array[]; labels: number[] } {
  const dir = mkdtempSync(join(tmpdir(), 'farmer-playground-cli-'));
  try {
    execFileSync(process.execPath, [join(REPO, 'apps/cli/dist/bin.js'), 'sample', '--runtime', 'onnx', ...args, '--separate', join(dir, 'images'), '--out', join(dir, 'grid.png'), '--quiet'], {
      stdio: 'pipe',
    });
    const files = readdirSync(join(dir, 'images')).sort();
    return {
      images: files.map((f) => {
        const im = decodePng(new Uint8Array(readFileSync(join(dir, 'images', f))));
        return im.data.filter((_, i) => i % im.channels === 0);
      }),
      labels: files.map((f) => Number(/label(-?\d+)\.png$/.exec(f)![1])),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function expectSameImages(page: { images: Uint8Array[]; labels: number[] }, cli: { images: Uint8Array[]; labels: number[] }): void {
  expect(page.labels).toEqual(cli.labels);
  expect(page.images.length).toBe(cli.images.length);
  // Grey square images, one channel (cliSamples keeps the first of the PNG's channels).
  const side = Math.sqrt(cli.images[0].length);
  const set = (images: Uint8Array[]) => ({ data: Uint8Array.from(images.flatMap((im) => [...im])), count: images.length, height: side, width: side, channels: 1 });
  const r = compareRuntimeImages(set(page.images), set(cli.images));
  console.log(`page vs farmer sample --runtime onnx: ${r.summary}`);
  expect(r.holds, r.summary).toBe(true);
}

const run = browserTestsCanRun();

describe.runIf(run)('the page in headless Chromium', () => {
  let server: Served;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;

  beforeAll(async () => {
    server = await serve(DIST);
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
  });

  describe('generates what `farmer sample --runtime onnx` draws', () => {
    it('resampling CFG at the page defaults (labels 7, 3, 0, seed 1), exact flow decoder, threaded wasm', async () => {
      const page = await openPage(chromium.context, server.url);
      expect(await page.textContent('#model-status')).toMatch(/running on (wasm \(\d threads?\)|webgpu)/);
      expect(await page.inputValue('#labels')).toBe('7,3,0');
      expect(await page.inputValue('#seed')).toBe('1');
      expect(await page.inputValue('#sampler')).toBe('resampling-cfg');
      const got = await generateOnPage(page);
      expectSameImages(got, cliSamples(['--labels', '7,3,0', '--seed', '1']));
      // Each image downloads as a PNG of exactly its pixels.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#results figure:nth-child(2) a')]);
      expect(download.suggestedFilename()).toBe('farmer-seed1-0001-label3.png');
      const png = decodePng(new Uint8Array(readFileSync((await download.path())!)));
      expect([png.width, png.height]).toEqual([28, 28]);
      expect(
        u8Diff(
          png.data.filter((_, i) => i % png.channels === 0),
          got.images[1]
        ).differ
      ).toBe(0);
      // The settings are in the address bar, so the same URL draws the same images.
      expect(new URL(page.url()).searchParams.get('labels')).toBe('7,3,0');
      await page.close();
    });

    it('the distilled student decoder, from a shared URL', async () => {
      const page = await openPage(chromium.context, `${server.url}?labels=1,4&seed=5&decoder=student`);
      expect(await page.inputValue('#decoder')).toBe('student');
      const got = await generateOnPage(page);
      expectSameImages(got, cliSamples(['--labels', '1,4', '--seed', '5', '--decoder', 'student']));
      await page.close();
    });
  });

  /*
   * The reference images (issue 29): the page draws the same bytes as before
   * the sampling-options refactor, from a shared URL of each request the page
   * can express, on threaded wasm. The hashes are
   * packages/test-utils/fixtures/reference-images.json, recorded by
   * scripts/record-reference-images.mjs before the refactor.
   */
  describe('draws the reference images', () => {
    it.each(REFERENCE_CASES.filter((c) => c.page !== null).map((c) => [c.name, c] as const))('%s', async (_, c) => {
      const page = await openPage(chromium.context, `${server.url}?${c.page}`);
      expect(await page.evaluate(() => document.getElementById('model-status')!.dataset.provider)).toBe('wasm');
      const got = await generateOnPage(page);
      expect(got.labels).toEqual(c.labels);
      expect(imagesSha256(got.images)).toBe(c.sha256['page-wasm']);
      await page.close();
    });
  });

  /** `farmer serve` on a free port (the built-in model); resolves with its base URL once it listens. */
  function farmerServe(): Promise<{ url: string; child: ChildProcess }> {
    const child = spawn(process.execPath, [join(REPO, 'apps/cli/dist/bin.js'), 'serve', '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
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

  describe.runIf(run)('the page at /playground/ of `farmer serve`, on a served model', () => {
    let served: { url: string; child: ChildProcess };
    let chromium: Awaited<ReturnType<typeof launchChromium>>;

    beforeAll(async () => {
      served = await farmerServe();
      chromium = await launchChromium();
    });

    afterAll(async () => {
      await chromium?.close();
      served?.child.kill('SIGTERM');
    });

    it('lists the served model, fetches its export from GET /v1/models/{name}/onnx/ and draws what the CLI draws, on threads', async () => {
      const page = await openPage(chromium.context, `${served.url}/playground/`);
      expect(await page.evaluate(() => [...document.querySelectorAll<HTMLOptionElement>('#model-select option')].map((o) => o.value))).toContain('served:mnist-small');
      await page.selectOption('#model-select', 'served:mnist-small');
      await page.waitForFunction(
        () => /^served model mnist-small: .*running on wasm \(\d threads?\)/.test(document.getElementById('model-status')!.textContent ?? '') || !document.getElementById('error')!.hidden,
        undefined,
        { timeout: 120_000 }
      );
      expect(await pageError(page)).toBeNull();
      expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
      expect(new URL(page.url()).searchParams.get('model')).toBe('served:mnist-small');
      const got = await generateOnPage(page);
      expectSameImages(got, cliSamples(['--labels', '7,3,0', '--seed', '1']));
      await page.close();
    });
  });
});
