import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Plugin } from 'vite';

/** Where the page finds the built-in export, relative to index.html. */
export const BUILTIN_EXPORT_PATH = 'models/mnist-small/onnx/';

/** The export's files as its manifest lists them (whatever model it is: a retrained one's export is taken as it is). */
async function exportFiles(dir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, unknown> };
  return ['manifest.json', ...Object.keys(manifest.files)];
}

/**
 * Ships the built-in model's ONNX export (`dir`, the repo's
 * models/mnist-small/onnx) inside the build at {@link BUILTIN_EXPORT_PATH},
 * and serves it there in dev.
 */
export function builtinExport(dir: string): Plugin {
  let outDir = 'dist';
  return {
    name: 'farmer-builtin-export',
    configResolved(c) {
      outDir = resolve(c.root, c.build.outDir);
    },
    async writeBundle() {
      const to = join(outDir, BUILTIN_EXPORT_PATH);
      await mkdir(to, { recursive: true });
      for (const f of await exportFiles(dir)) await copyFile(join(dir, f), join(to, f));
    },
    configureServer(server) {
      server.middlewares.use(`/${BUILTIN_EXPORT_PATH}`, (req, res, next) => {
        const name = decodeURIComponent((req.url ?? '/').replace(/^\//, '').split('?')[0]);
        void exportFiles(dir).then(async (files) => (files.includes(name) ? res.end(await readFile(join(dir, name))) : next()));
      });
    },
  };
}
