import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Rollup } from 'vite';
import { describe, expect, it } from 'vitest';
import { browserOnly, nodeOnlyReason } from '../build/browser-only.js';
import { APP, DIST } from './browser.js';

type Output = { output: (Rollup.OutputChunk | Rollup.OutputAsset)[] };

/** The page built in memory: every chunk with the modules bundled into it. */
async function buildPage(): Promise<Rollup.OutputChunk[]> {
  const r = (await build({ root: APP, configFile: join(APP, 'vite.config.ts'), logLevel: 'silent', build: { write: false } })) as Output | Output[];
  return (Array.isArray(r) ? r : [r]).flatMap((o) => o.output).filter((o): o is Rollup.OutputChunk => o.type === 'chunk');
}

/** The npm package of a module id (undefined for the app's own files and virtual modules). */
function packageOf(id: string): string | undefined {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(id)?.[1] ?? /\/packages\/([^/]+)\/dist\//.exec(id)?.[1]?.replace(/^/, '@farmer/');
}

describe('the browser bundle', () => {
  it('holds no Node built-in, no tfjs and no native package: only @farmer browser entries, zod and onnxruntime-web', async () => {
    const chunks = await buildPage();
    const ids = chunks.flatMap((c) => c.moduleIds);
    expect(ids.filter((id) => /^(node:|\0?__vite-browser-external)/.test(id) || nodeOnlyReason(id) !== undefined)).toEqual([]);
    const packages = [...new Set(ids.map(packageOf).filter((p): p is string => p !== undefined))].sort();
    expect(packages.filter((p) => !/^@farmer\/(core|flow|ar-gmm|sampling|onnx|models)$/.test(p))).toEqual(['onnxruntime-web', 'zod']);
    // The built-in names come from @farmer/models' browser entry, never its Node one.
    expect(ids.filter((id) => /\/packages\/models\/dist\/browser\.js$/.test(id))).toHaveLength(1);
    expect(ids.filter((id) => /\/packages\/models\/dist\/index\./.test(id))).toEqual([]);
    // The shipped build too: Vite would have swapped a built-in for a __vite-browser-external stub.
    for (const f of readdirSync(join(DIST, 'assets')).filter((f) => f.endsWith('.js'))) expect(readFileSync(join(DIST, 'assets', f), 'utf8')).not.toMatch(/__vite-browser-external/);
  });

  it('ships no model export (the published package stays small): farmer serve and the static site serve them from the model packages', () => {
    const all = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(dir, e.name)) : [join(dir, e.name)]));
    expect(all(DIST).filter((f) => /\.(onnx|weights|safetensors)$|manifest\.json$/.test(f))).toEqual([]);
  });

  it('is under 1 MB gzipped without the wasm of onnxruntime-web (every JS chunk)', async () => {
    const chunks = await buildPage();
    const gz = chunks.reduce((a, c) => a + gzipSync(c.code).length, 0);
    console.log(`bundle: ${chunks.length} JS chunks, ${(chunks.reduce((a, c) => a + c.code.length, 0) / 1024).toFixed(0)} KiB, ${(gz / 1024).toFixed(0)} KiB gzipped`);
    expect(gz).toBeLessThan(1024 * 1024);
  });

  it('the build fails, naming the importer, when page code imports a Node module (the check can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'farmer-bundle-'));
    try {
      writeFileSync(join(dir, 'index.html'), '<script type="module" src="./main.js"></script>');
      writeFileSync(join(dir, 'main.js'), "import { readFileSync } from 'node:fs';\nconsole.log(readFileSync);\n");
      const attempt = build({ root: dir, configFile: false, logLevel: 'silent', plugins: [browserOnly()], build: { write: false } });
      await expect(attempt).rejects.toThrow(/node:fs is a Node built-in module, imported by .*main\.js; the page may import only browser entry points/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect([nodeOnlyReason('fs'), nodeOnlyReason('@tensorflow/tfjs'), nodeOnlyReason('onnxruntime-node'), nodeOnlyReason('onnxruntime-web'), nodeOnlyReason('zod')]).toEqual([
      'a Node built-in module',
      'a Node-only package (@tensorflow)',
      'a Node-only package (onnxruntime-node)',
      undefined,
      undefined,
    ]);
  });
});
