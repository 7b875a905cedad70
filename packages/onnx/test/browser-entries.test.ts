import { builtinModules } from 'node:module';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * The browser entry points bundle for a browser with nothing but zod
 * beside them: no Node built-in (`node:` or bare), no tfjs, no onnxruntime
 * binding. (apps/playground's bundle test checks the built page the same
 * way; this one names the entry at fault.)
 */
const ENTRIES = ['@farmer/core/browser', '@farmer/flow/browser', '@farmer/ar-gmm/browser', '@farmer/sampling/browser', '@farmer/onnx/web'];
const NODE = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

async function packagesOf(entry: string): Promise<{ packages: string[]; nodeImports: string[] }> {
  const nodeImports: string[] = [];
  const r = await build({
    stdin: { contents: `export * from '${entry}';`, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [
      {
        name: 'node-builtins',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (a) => {
            if (!NODE.has(a.path)) return undefined;
            nodeImports.push(`${a.path} (from ${a.importer.replace(/.*node_modules\//, '')})`);
            return { path: a.path, external: true };
          });
        },
      },
    ],
  });
  const packages = Object.keys(r.metafile.inputs)
    .map((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(i)?.[1])
    .filter((p): p is string => p !== undefined && !p.startsWith('@farmer/'));
  return { packages: [...new Set(packages)].sort(), nodeImports };
}

describe('browser entry points', () => {
  it.each(ENTRIES)('%s bundles for a browser with zod only: no Node module, no tfjs, no onnxruntime binding', async (entry) => {
    expect(await packagesOf(entry)).toEqual({ packages: ['zod'], nodeImports: [] });
  });

  it('the check can fail: the full @farmer/core entry pulls in Node modules and tfjs', async () => {
    const full = await packagesOf('@farmer/core');
    expect(full.nodeImports.length).toBeGreaterThan(0);
    expect(full.packages).toContain('@tensorflow/tfjs-core');
  });
});
