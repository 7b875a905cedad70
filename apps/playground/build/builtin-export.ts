import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Plugin } from 'vite';
import { BUILTIN_MODELS, builtinExportPath } from '../src/builtin-models.js';

/** The export's files as its manifest lists them (whatever model it is: a retrained one's export is taken as it is). */
async function exportFiles(dir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, unknown> };
  return ['manifest.json', ...Object.keys(manifest.files)];
}

/**
 * Ships every built-in model's ONNX export (`modelsDir`/NAME/onnx, the repo's
 * models folder) inside the build at {@link builtinExportPath}, and serves
 * them there in dev.
 */
export function builtinExports(modelsDir: string): Plugin {
  let outDir = 'dist';
  return {
    name: 'farmer-builtin-export',
    configResolved(c) {
      outDir = resolve(c.root, c.build.outDir);
    },
    async writeBundle() {
      for (const model of BUILTIN_MODELS) {
        const dir = join(modelsDir, model, 'onnx');
        const to = join(outDir, builtinExportPath(model));
        await mkdir(to, { recursive: true });
        for (const f of await exportFiles(dir)) await copyFile(join(dir, f), join(to, f));
      }
    },
    configureServer(server) {
      for (const model of BUILTIN_MODELS) {
        const dir = join(modelsDir, model, 'onnx');
        server.middlewares.use(`/${builtinExportPath(model)}`, (req, res, next) => {
          const name = decodeURIComponent((req.url ?? '/').replace(/^\//, '').split('?')[0]);
          void exportFiles(dir).then(async (files) => (files.includes(name) ? res.end(await readFile(join(dir, name))) : next()));
        });
      }
    },
  };
}
