// Headless Chromium for the browser tests, the screenshot and the benchmark: Debian's
// chromium (`.ci/run` installs it with apt when missing; FARMER_CHROMIUM overrides),
// driven by playwright-core through its executablePath.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.FARMER_CHROMIUM ?? '/usr/bin/chromium';

/** Headless flags for a machine without a GPU or network: without the networking ones Chromium waits on its background services and hangs. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * A fresh headless Chromium with a new profile folder (its --user-data-dir); close() removes it.
 * @param {{ width: number, height: number }} [viewport]
 * @returns {Promise<{ context: import('playwright-core').BrowserContext, close(): Promise<void> }>}
 */
export async function launchChromium(viewport = { width: 1200, height: 900 }) {
  const profile = mkdtempSync(join(tmpdir(), 'farmer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
