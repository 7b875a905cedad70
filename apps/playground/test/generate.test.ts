import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { decodePng } from '@farmer/core';
import { imagesSha256, REFERENCE_CASES, u8Diff } from '@farmer/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsCanRun, cliSamples, DIST, expectSameImages, farmerServe, generateOnPage, launchChromium, openPage, pageError, serve, type Served } from './browser.js';

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

    it('the Jacobi decoder (docs/method.md §3.13 Jacobi decoding), from a shared URL: the images farmer sample draws with it, and its passes per block in the timings', async () => {
      const page = await openPage(chromium.context, `${server.url}?labels=1,4&seed=5&decoder=jacobi`);
      expect(await page.inputValue('#decoder')).toBe('jacobi');
      const got = await generateOnPage(page);
      expectSameImages(got, cliSamples(['--labels', '1,4', '--seed', '5', '--decoder', 'jacobi']));
      expect(await page.textContent('#timings')).toMatch(/Jacobi passes per AF block(\d+\.\d, ){3}\d+\.\d/);
      await page.close();
    });

    it('emoji-small, the colour built-in, from ?model=builtin:emoji-small: each canvas holds the RGB image farmer sample draws', async () => {
      const page = await openPage(chromium.context, `${server.url}?model=builtin:emoji-small&labels=0,4,8,2&seed=1`);
      expect(await page.textContent('#model-status')).toMatch(/^the built-in emoji-small: 9 classes, .*running on/);
      const got = await generateOnPage(page, 300_000, 3);
      expectSameImages(got, cliSamples(['--model', 'emoji-small', '--labels', '0,4,8,2', '--seed', '1'], 3), 3);
      // In colour, not grey in RGB.
      expect(got.images.some((im) => im.some((v, i) => i % 3 === 0 && (v !== im[i + 1] || v !== im[i + 2])))).toBe(true);
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
