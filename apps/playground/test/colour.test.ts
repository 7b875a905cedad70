import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compositeRgba, decodePng, encodePng, WHITE_BACKGROUND } from '@farmer/core';
import { COLOUR_SHAPE_CLASSES, colourShape, colourShapePng, writeColourShapes } from '@farmer/test-utils';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsCanRun, cliSamples, expectSameImages, farmerServe, generateOnPage, launchChromium, openPage, pageError, REPO } from './browser.js';

// A colour model on the page: a tiny 16×16 RGB model trained by `farmer train` on a folder of RGBA
// shapes composited on white, exported, and served to the page by `farmer serve`.
const SIZE = 16;
const run = browserTestsCanRun();

type Playground = {
  farmerPlayground: {
    pad: { inked: boolean; clear(): void; image(size: number, channels: number): { data: Uint8Array } };
    state: { bpd?: number; classification?: { logLik: Float64Array; posterior: Float64Array } | null };
  };
};

describe.runIf(run)('a colour model on the page', () => {
  let work: string;
  let model: string;
  let served: { url: string; child: ChildProcess };
  let chromium: Awaited<ReturnType<typeof launchChromium>>;

  const farmer = (args: string[]): string =>
    execFileSync(process.execPath, [join(REPO, 'apps/cli/dist/bin.js'), ...args], { cwd: work, env: { ...process.env, FARMER_BACKEND: 'wasm', FARMER_CACHE: join(work, 'cache') }, encoding: 'utf8', stdio: 'pipe' });

  /** The page with the served colour model loaded (and `query` settings). */
  async function colourPage(query = ''): Promise<Page> {
    const page = await openPage(chromium.context, `${served.url}/playground/?model=served:shapes${query}`);
    expect(await pageError(page)).toBeNull();
    expect(await page.textContent('#model-status')).toMatch(/^served model shapes: 3 classes/);
    return page;
  }

  /** Clicks Score and waits for the result (or an error). */
  async function score(page: Page): Promise<void> {
    await page.click('#pad-score');
    await page.waitForFunction(() => /bits\/dim/.test(document.getElementById('bpd')!.textContent ?? '') || !document.getElementById('error')!.hidden, undefined, { timeout: 120_000 });
    expect(await pageError(page)).toBeNull();
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'farmer-playground-colour-'));
    writeColourShapes(join(work, 'shapes'), { size: SIZE, train: 12, test: 2 });
    const config = {
      flow: { inChannels: 3, imageSize: SIZE, patchSize: 4, width: 32, numBlocks: 2, layersPerBlock: 1, headDim: 16 },
      ar: { width: 32, layers: 1, headDim: 16, prefixLength: 2, informativeDim: 8, componentsInformative: 4, componentsRedundant: 2 },
      numClasses: 3,
    };
    writeFileSync(join(work, 'rgb-tiny.json'), JSON.stringify({ model: config }));
    model = join(work, 'models', 'shapes');
    farmer(['train', '--config', 'rgb-tiny.json', '--data', 'folder:shapes', '--image-size', `${SIZE}`, '--background', 'white', '--steps', '30', '--batch-size', '12', '--engine', 'ort', '--workers', '1', '--threads', '1', '--out', model, '--quiet']);
    farmer(['export', 'onnx', '--checkpoint', model, '--quiet']);
    served = await farmerServe(['--models', join(work, 'models')]);
    chromium = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await chromium?.close();
    served?.child.kill('SIGTERM');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('draws colour samples in colour: each canvas holds the RGB image `farmer sample --runtime onnx` draws, and downloads as it', async () => {
    const page = await colourPage('&labels=0,1,2,1&seed=1');
    const got = await generateOnPage(page, 300_000, 3);
    expectSameImages(got, cliSamples(['--checkpoint', model, '--labels', '0,1,2,1', '--seed', '1'], 3), 3);
    // In colour, not grey in RGB.
    expect(got.images.some((im) => im.some((v, i) => i % 3 === 0 && (v !== im[i + 1] || v !== im[i + 2])))).toBe(true);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#results figure:nth-child(3) a')]);
    const png = decodePng(new Uint8Array(readFileSync((await download.path())!)), 3);
    expect([png.width, png.height]).toEqual([SIZE, SIZE]);
    expect(Array.from(png.data)).toEqual(Array.from(got.images[2]));
    await page.close();
  });

  it("scores a dropped colour PNG of the model's size as `farmer classify` does: the same pixels, class probabilities and log-likelihoods", async () => {
    const page = await colourPage();
    // An opaque colour image (a green disc composited on white), as a user's RGB PNG.
    const bytes = encodePng({ data: compositeRgba(colourShape(1, 100, SIZE), 3, WHITE_BACKGROUND), count: 1, height: SIZE, width: SIZE, channels: 3 });
    writeFileSync(join(work, 'disc.png'), bytes);
    await page.setInputFiles('#pad-file', { name: 'disc.png', mimeType: 'image/png', buffer: Buffer.from(bytes) });
    await page.waitForFunction(() => (window as unknown as Playground).farmerPlayground.pad.inked);
    await score(page);
    const shown = await page.evaluate(() => {
      const { pad, state } = (window as unknown as Playground).farmerPlayground;
      const rows = [...document.querySelectorAll<HTMLElement>('#class-probs li')];
      return {
        pixels: Array.from(pad.image(16, 3).data),
        names: rows.map((r) => r.querySelector('.name')!.textContent),
        p: rows.map((r) => Number(r.dataset.p)),
        logLik: Array.from(state.classification!.logLik),
      };
    });
    // The pixels the page scored are the file's, not the file resampled through the 280×280 pad.
    expect(shown.pixels).toEqual(Array.from(decodePng(bytes, 3).data));
    expect(shown.names).toEqual([...COLOUR_SHAPE_CLASSES]);
    const cli = JSON.parse(farmer(['classify', 'disc.png', '--checkpoint', model, '--runtime', 'onnx', '--json'])).images[0];
    for (let k = 0; k < 3; k++) {
      expect(Math.abs(shown.p[k] - cli.posterior[k]), `p(${k}|x)`).toBeLessThan(1e-3);
      // wasm and native kernels round differently: log p(x|y) of 768 values agree to ~1e-3 nats.
      expect(Math.abs(shown.logLik[k] - cli.logLikelihood[k]), `log p(x|${k})`).toBeLessThan(1e-2);
    }
    // A transparent PNG of the model's size: composited on the model's white, within a level of
    // decodePng (the canvas keeps its pixels premultiplied, which rounds half-transparent ones).
    await page.evaluate(() => (window as unknown as Playground).farmerPlayground.pad.clear());
    await page.setInputFiles('#pad-file', { name: 'ring.png', mimeType: 'image/png', buffer: Buffer.from(colourShapePng(0, 101, SIZE)) });
    await page.waitForFunction(() => (window as unknown as Playground).farmerPlayground.pad.inked);
    const ring = await page.evaluate(() => Array.from((window as unknown as Playground).farmerPlayground.pad.image(16, 3).data));
    const want = decodePng(colourShapePng(0, 101, SIZE), 3, { background: WHITE_BACKGROUND }).data;
    expect(Math.max(...ring.map((v, i) => Math.abs(v - want[i])))).toBeLessThanOrEqual(1);
    await page.close();
  });

  it('says that its pad draws grey strokes for a colour model (and scores them), and says nothing of it for a grey one', async () => {
    const page = await colourPage();
    expect(await page.isVisible('#pad-note')).toBe(true);
    expect(await page.textContent('#pad-note')).toMatch(/colour model.*grey strokes/);
    const pad = (await page.locator('#pad').boundingBox())!;
    await page.mouse.move(pad.x + pad.width * 0.3, pad.y + pad.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(pad.x + pad.width * 0.7, pad.y + pad.height * 0.6, { steps: 8 });
    await page.mouse.up();
    await score(page);
    const bpd = await page.evaluate(() => (window as unknown as Playground).farmerPlayground.state.bpd!);
    expect(Number.isFinite(bpd)).toBe(true);
    expect(await page.locator('#class-probs li').count()).toBe(3);
    // The built-in mnist-small is grey: no such note.
    await page.selectOption('#model-select', 'builtin');
    await page.waitForFunction(() => /^the built-in mnist-small: /.test(document.getElementById('model-status')!.textContent ?? '') || !document.getElementById('error')!.hidden, undefined, { timeout: 120_000 });
    expect(await pageError(page)).toBeNull();
    expect(await page.isVisible('#pad-note')).toBe(false);
    await page.close();
  });
});
