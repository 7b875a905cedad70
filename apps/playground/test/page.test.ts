import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTestsCanRun, DIST, launchChromium, openPage, pageError, REPO, serve, type Served } from './browser.js';

const run = browserTestsCanRun();

describe.runIf(run)('the page: likelihood, a broken export, a plain static host', () => {
  let server: Served;
  let plain: Served;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let broken: string;

  beforeAll(async () => {
    // A copy of the built-in export with one byte of its AF weights flipped.
    broken = mkdtempSync(join(tmpdir(), 'farmer-broken-export-'));
    cpSync(join(REPO, 'models/mnist-small/onnx'), broken, { recursive: true });
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

  it('a stroke drawn on the pad gets a finite bits/dim', async () => {
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
    // An empty pad is a message on the page, not a number.
    await page.click('#pad-clear');
    await page.click('#pad-score');
    await page.waitForFunction(() => !document.getElementById('error')!.hidden);
    expect(await pageError(page)).toMatch(/the pad is empty/);
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
    const builtin = join(REPO, 'models/mnist-small/onnx');
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
    expect(await pageError(bad)).toMatch(/^FARMER_E_BAD_INPUT seed must be an integer in \[0, /);
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
