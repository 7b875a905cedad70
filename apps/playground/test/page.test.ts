import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classify } from '@farmer/ar-gmm';
import { encodePng, type U8Images } from '@farmer/core';
import { builtinModelDir } from '@farmer/models';
import { loadOrtRunner } from '@farmer/onnx/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsCanRun, DIST, launchChromium, openPage, pageError, serve, type Served } from './browser.js';

const run = browserTestsCanRun();

describe.runIf(run)('the page: likelihood, a broken export, a plain static host', () => {
  let server: Served;
  let plain: Served;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let broken: string;

  beforeAll(async () => {
    // A copy of the built-in export with one byte of its AF weights flipped.
    broken = mkdtempSync(join(tmpdir(), 'farmer-broken-export-'));
    cpSync(join(builtinModelDir(), 'onnx'), broken, { recursive: true });
    const weights = readFileSync(join(broken, 'flow.weights'));
    weights[1000] ^= 0x40;
    writeFileSync(join(broken, 'flow.weights'), weights);
    server = await serve(DIST, { mounts: { '/broken/': broken } });
    plain = await serve(DIST, { isolation: false });
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    await plain?.close();
    rmSync(broken, { recursive: true, force: true });
  });

  it('a stroke drawn on the pad gets a finite bits/dim and class probabilities equal to classify on onnxruntime-node', async () => {
    const page = await openPage(chromium.context, server.url);
    const pad = (await page.locator('#pad').boundingBox())!;
    // A "1": a vertical stroke down the middle of the pad.
    await page.mouse.move(pad.x + pad.width * 0.5, pad.y + pad.height * 0.2);
    await page.mouse.down();
    for (let k = 1; k <= 12; k++) await page.mouse.move(pad.x + pad.width * (0.5 - 0.004 * k), pad.y + pad.height * (0.2 + 0.05 * k));
    await page.mouse.up();
    await page.click('#pad-score');
    await page.waitForFunction(() => /bits\/dim/.test(document.getElementById('bpd')!.textContent ?? '') || !document.getElementById('error')!.hidden, undefined, { timeout: 120_000 });
    expect(await pageError(page)).toBeNull();
    const bpd = await page.evaluate(() => (window as unknown as { farmerPlayground: { state: { bpd: number } } }).farmerPlayground.state.bpd);
    expect(Number.isFinite(bpd)).toBe(true);
    // A digit-like stroke scores like a digit, far below the 8 bits/dim of uniform noise.
    expect(bpd).toBeGreaterThan(0);
    expect(bpd).toBeLessThan(8);
    expect(await page.textContent('#bpd')).toBe(`${bpd.toFixed(3)} bits/dim`);
    // The posterior as shown (each row's exact p in data-p), the highlighted row, and the pixels the page scored.
    const shown = await page.evaluate(() => {
      const rows = [...document.querySelectorAll<HTMLElement>('#class-probs li')];
      const pad = (window as unknown as { farmerPlayground: { pad: { image(size: number, channels: number): { data: Uint8Array } } } }).farmerPlayground.pad;
      return {
        p: rows.map((r) => Number(r.dataset.p)),
        names: rows.map((r) => r.querySelector('.name')!.textContent),
        text: rows.map((r) => r.querySelector('.p')!.textContent),
        best: rows.filter((r) => r.classList.contains('best')).map((r) => Number(r.dataset.class)),
        pixels: Array.from(pad.image(28, 1).data),
        logLik: Array.from((window as unknown as { farmerPlayground: { state: { classification: { logLik: Float64Array } } } }).farmerPlayground.state.classification.logLik),
      };
    });
    expect(shown.p).toHaveLength(10);
    expect(shown.names).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    for (const p of shown.p) expect(Number.isFinite(p) && p >= 0 && p <= 1).toBe(true);
    expect(Math.abs(shown.p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-3);
    expect(shown.text).toEqual(shown.p.map((p) => `${(100 * p).toFixed(1)}%`));
    expect(shown.best).toEqual([shown.p.indexOf(Math.max(...shown.p))]);
    // The same pixels through classify on onnxruntime-node (its defaults, as the page uses).
    const runner = await loadOrtRunner(join(builtinModelDir(), 'onnx'));
    try {
      const image: U8Images = { data: Uint8Array.from(shown.pixels), count: 1, height: 28, width: 28, channels: 1 };
      const want = await classify(runner, image);
      for (let k = 0; k < 10; k++) expect(Math.abs(shown.p[k] - want.posterior[k]), `class ${k}`).toBeLessThan(1e-3);
      expect(shown.best).toEqual([want.predicted[0]]);
      // The posterior of a clear stroke is nearly one-hot, so compare the per-class log p(x|y) too
      // (~2600 nats; measured 3e-4 apart: wasm and native kernels round differently).
      for (let k = 0; k < 10; k++) expect(Math.abs(shown.logLik[k] - want.logLik[k]), `log p(x|${k})`).toBeLessThan(1e-2);
    } finally {
      await runner.dispose();
    }
    // An empty pad is a message on the page, not a number.
    await page.click('#pad-clear');
    await page.click('#pad-score');
    await page.waitForFunction(() => !document.getElementById('error')!.hidden);
    expect(await pageError(page)).toMatch(/the pad is empty/);
    expect(await page.locator('#class-probs li').count()).toBe(0);
    await page.close();
  });

  it("a dropped image keeps its transparency: scored on the model's background (black for mnist-small), on white when asked", async () => {
    const page = await openPage(chromium.context, server.url);
    // 280×280 (the pad's size) straight RGBA: the left half transparent over a stored green, the right half opaque red.
    const rgba = new Uint8Array(280 * 280 * 4);
    for (let p = 0; p < 280 * 280; p++) rgba.set(p % 280 < 140 ? [10, 200, 10, 0] : [200, 30, 30, 255], p * 4);
    await page.setInputFiles('#pad-file', { name: 'half.png', mimeType: 'image/png', buffer: Buffer.from(encodePng({ data: rgba, count: 1, height: 280, width: 280, channels: 4 })) });
    await page.waitForFunction(() => (window as unknown as { farmerPlayground: { pad: { inked: boolean } } }).farmerPlayground.pad.inked);
    expect(await pageError(page)).toBeNull();
    const seen = await page.evaluate(() => {
      const pad = (window as unknown as { farmerPlayground: { pad: { background: number[]; canvas: HTMLCanvasElement; image(size: number, channels: number, background?: number[]): { data: Uint8Array } } } }).farmerPlayground.pad;
      return { background: pad.background, css: pad.canvas.style.backgroundColor, black: Array.from(pad.image(28, 3).data), white: Array.from(pad.image(28, 3, [255, 255, 255]).data) };
    });
    expect(seen.background).toEqual([0, 0, 0]);
    expect(seen.css).toBe('rgb(0, 0, 0)');
    const at = (px: number[], x: number, y: number) => px.slice((y * 28 + x) * 3, (y * 28 + x) * 3 + 3);
    for (const y of [2, 14, 25]) {
      // Interior pixels of each half (the downscale blends the two columns at the seam): within one level.
      for (const x of [2, 10]) {
        expect(at(seen.black, x, y), `black (${x}, ${y})`).toEqual([0, 0, 0]);
        expect(at(seen.white, x, y), `white (${x}, ${y})`).toEqual([255, 255, 255]);
      }
      for (const x of [17, 25]) {
        for (const px of [seen.black, seen.white]) at(px, x, y).forEach((v, c) => expect(Math.abs(v - [200, 30, 30][c]), `red (${x}, ${y})`).toBeLessThanOrEqual(1));
      }
    }
    await page.close();
  });

  it('the second built-in, fashion-small, ships in the static build and names its classes', async () => {
    const page = await openPage(chromium.context, `${server.url}?model=builtin:fashion-small`);
    expect(await pageError(page)).toBeNull();
    expect(await page.textContent('#model-status')).toMatch(/^the built-in fashion-small: 10 classes, .*running on/);
    expect(await page.inputValue('#model-select')).toBe('builtin:fashion-small');
    const pad = (await page.locator('#pad').boundingBox())!;
    // A trouser-like pair of strokes.
    for (const x of [0.4, 0.6]) {
      await page.mouse.move(pad.x + pad.width * x, pad.y + pad.height * 0.15);
      await page.mouse.down();
      await page.mouse.move(pad.x + pad.width * x, pad.y + pad.height * 0.85, { steps: 10 });
      await page.mouse.up();
    }
    await page.click('#pad-score');
    await page.waitForFunction(() => /bits\/dim/.test(document.getElementById('bpd')!.textContent ?? '') || !document.getElementById('error')!.hidden, undefined, { timeout: 120_000 });
    expect(await pageError(page)).toBeNull();
    const names = await page.evaluate(() => [...document.querySelectorAll('#class-probs li .name')].map((n) => n.textContent));
    expect(names).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    // The plain 'builtin' of older links is still mnist-small, and an unknown built-in is a message.
    const old = await openPage(chromium.context, `${server.url}?model=builtin`);
    expect(await old.textContent('#model-status')).toMatch(/^the built-in mnist-small: /);
    const unknown = await openPage(chromium.context, `${server.url}?model=builtin:cifar-huge`);
    expect(await pageError(unknown)).toMatch(/model must be builtin, builtin:mnist-small, builtin:fashion-small, builtin:emoji-small, served:NAME or url:URL, got 'builtin:cifar-huge'/);
    for (const p of [page, old, unknown]) await p.close();
  });

  it('an unconditional model gets a note instead of class probabilities, and its bits/dim', async () => {
    const page = await openPage(chromium.context, server.url);
    // No unconditional export ships with the repo: the page's runner is told it has no classes,
    // which is all the page reads to decide (an unconditional export's config says numClasses 0).
    await page.evaluate(() => {
      (window as unknown as { farmerPlayground: { state: { model: { runner: { config: { numClasses: number } } } } } }).farmerPlayground.state.model.runner.config.numClasses = 0;
    });
    const pad = (await page.locator('#pad').boundingBox())!;
    await page.mouse.move(pad.x + pad.width * 0.3, pad.y + pad.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(pad.x + pad.width * 0.7, pad.y + pad.height * 0.7, { steps: 8 });
    await page.mouse.up();
    await page.click('#pad-score');
    await page.waitForFunction(() => /bits\/dim/.test(document.getElementById('bpd')!.textContent ?? '') || !document.getElementById('error')!.hidden, undefined, { timeout: 120_000 });
    expect(await pageError(page)).toBeNull();
    expect(await page.textContent('#bpd')).toMatch(/^\d+\.\d{3} bits\/dim$/);
    expect(await page.locator('#class-probs li').count()).toBe(0);
    expect(await page.textContent('#class-probs')).toMatch(/unconditional .*no class probabilities/);
    await page.close();
  });

  it('a corrupted export is refused with a message on the page naming the file', async () => {
    const page = await openPage(chromium.context, `${server.url}?model=${encodeURIComponent(`url:${server.url}broken/`)}`);
    expect(await pageError(page)).toMatch(/^FARMER_E_CORRUPT .*broken\/flow\.weights fails its SHA-256 check \(corrupted\); re-export the model$/);
    expect(await page.isDisabled('#generate')).toBe(true);
    expect(await page.textContent('#model-status')).toBe('no model loaded');
    await page.close();
  });

  it('an export folder picked from disk loads (every file checked), and a picked corrupted one is refused', async () => {
    const page = await openPage(chromium.context, server.url);
    await page.selectOption('#model-select', 'files');
    const builtin = join(builtinModelDir(), 'onnx');
    await page.setInputFiles('#model-files', builtin);
    await page.waitForFunction(() => /^\d+ picked files: .*running on/.test(document.getElementById('model-status')!.textContent ?? '') || !document.getElementById('error')!.hidden, undefined, { timeout: 120_000 });
    expect(await pageError(page)).toBeNull();
    expect(await page.isDisabled('#generate')).toBe(false);
    await page.setInputFiles('#model-files', broken);
    await page.waitForFunction(() => !document.getElementById('error')!.hidden, undefined, { timeout: 120_000 });
    expect(await pageError(page)).toMatch(/^FARMER_E_CORRUPT .*flow\.weights fails its SHA-256 check/);
    await page.close();
  });

  it('a missing export and an out-of-range label are messages on the page', async () => {
    const missing = await openPage(chromium.context, `${server.url}?model=${encodeURIComponent(`url:${server.url}nowhere/`)}`);
    expect(await pageError(missing)).toMatch(/^FARMER_E_NOT_FOUND .*nowhere\/manifest\.json answered HTTP 404/);
    await missing.close();
    const page = await openPage(chromium.context, server.url);
    await page.fill('#labels', '7,12');
    await page.click('#generate');
    await page.waitForFunction(() => !document.getElementById('error')!.hidden);
    expect(await pageError(page)).toMatch(/^FARMER_E_BAD_INPUT generate: labels\[1\] must be an integer class in \[0, 9\]/);
    const bad = await openPage(chromium.context, `${server.url}?seed=-3`);
    expect(await pageError(bad)).toMatch(/^FARMER_E_BAD_INPUT seed must be ≥ 0, got -3/);
    await page.close();
    await bad.close();
  });

  it('a browser without WebAssembly SIMD gets a message on the page, not a blank page', async () => {
    const page = await chromium.context.newPage();
    // The page probes SIMD with WebAssembly.validate: make this browser say no.
    await page.addInitScript(() => {
      const validate = WebAssembly.validate.bind(WebAssembly);
      WebAssembly.validate = (bytes: BufferSource) => (ArrayBuffer.isView(bytes) && (bytes as Uint8Array).includes(253) ? false : validate(bytes));
    });
    await page.goto(server.url);
    await page.waitForFunction(() => !document.getElementById('error')!.hidden, undefined, { timeout: 60_000 });
    expect(await pageError(page)).toMatch(/^FARMER_E_BACKEND this browser has no WebAssembly SIMD, which onnxruntime-web needs/);
    expect(await page.isDisabled('#generate')).toBe(true);
    await page.close();
  });

  it('without cross-origin isolation (a plain static host) it runs on one thread and says so', async () => {
    const page = await openPage(chromium.context, plain.url);
    expect(await pageError(page)).toBeNull();
    expect(await page.textContent('#model-status')).toMatch(/running on wasm \(1 thread\)/);
    expect(await page.textContent('#notices')).toMatch(/one wasm thread: this host does not send the cross-origin isolation headers/);
    await page.close();
  });
});
