import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connect, Plugin } from 'vite';
// @ts-expect-error: a plain ESM script without types (its JSDoc documents it)
import { builtinExports as exportsOfBuiltins, exportFiles } from '../scripts/builtin-exports.mjs';

/** Adds a middleware per built-in model serving its export's files (those its manifest lists) at its path. */
function serveExports(middlewares: Connect.Server): void {
  for (const { path, dir } of exportsOfBuiltins() as { path: string; dir: string }[]) {
    middlewares.use(`/${path}`, (req, res, next) => {
      const name = decodeURIComponent((req.url ?? '/').replace(/^\//, '').split('?')[0]);
      void (exportFiles(dir) as Promise<string[]>).then(async (files) => (files.includes(name) ? res.end(await readFile(join(dir, name))) : next()));
    });
  }
}

/**
 * Vite's dev and preview servers serve every built-in model's ONNX export
 * where the page looks for it (`builtinExportPath`), from the installed
 * model packages (through @farmer/models). The build ships none: `farmer
 * serve` serves them the same way, and `npm run playground:static` copies
 * them into a static site.
 */
export function builtinExports(): Plugin {
  return {
    name: 'farmer-builtin-export',
    configureServer: (server) => serveExports(server.middlewares),
    configurePreviewServer: (server) => serveExports(server.middlewares),
  };
}
