#!/usr/bin/env node
// `npm run playground`: serves the built page (apps/playground/dist) on http://127.0.0.1:PORT/
// (PORT from --port N or the PORT variable, default 5173), with the cross-origin isolation
// headers (threads); --plain serves it as a plain static host would (one thread). The built-in
// models' exports are served beside it from the installed model packages (builtin-exports.mjs).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinExportMounts } from './builtin-exports.mjs';
import { serveStatic } from './static-server.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const args = process.argv.slice(2);
const at = args.indexOf('--port');
const port = Number(at >= 0 ? args[at + 1] : (process.env.PORT ?? 5173));
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer in [0, 65535], got ${at >= 0 ? args[at + 1] : process.env.PORT}`);
  process.exit(2);
}
if (!existsSync(join(root, 'index.html'))) {
  console.error(`${root} holds no build: run \`npm run playground\` (it builds first) or \`npx nx run @farmer/playground:build\``);
  process.exit(2);
}
let mounts;
try {
  mounts = builtinExportMounts();
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
const { url } = await serveStatic({ root, mounts, port, isolation: !args.includes('--plain') }).catch((e) => {
  console.error(`cannot serve on port ${port}: ${e.message}${e.code === 'EADDRINUSE' ? ' (in use: pass --port N)' : ''}`);
  process.exit(1);
});
console.log(`FARMER playground: ${url}  (Ctrl-C stops)`);
