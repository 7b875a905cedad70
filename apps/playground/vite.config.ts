import { defineConfig } from 'vite';
import { browserOnly } from './build/browser-only.js';
import { builtinExports } from './build/builtin-export.js';
// Threaded wasm needs cross-origin isolation: the dev and preview servers send what `farmer serve` sends.
// @ts-expect-error: a plain ESM script without types (its JSDoc documents it)
import { ISOLATION_HEADERS } from './scripts/static-server.mjs';

export default defineConfig({
  // Relative URLs: the build works from any folder of any static host (and at /playground/ of `farmer serve`).
  base: './',
  plugins: [browserOnly(), builtinExports()],
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  // onnxruntime-web finds its wasm next to its module: keep it out of dev pre-bundling.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
