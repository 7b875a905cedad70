#!/usr/bin/env node
// `npm run playground:static -- [--out DIR]`: a self-contained static site of the playground for
// any static host: the built page (apps/playground/dist) and, at builtinExportPath (models/NAME/onnx/),
// a copy of each built-in model's ONNX export from its installed package. DIR defaults to
// playground-site/ in the current folder; it is replaced when it holds an earlier site, else
// refused unless empty.
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinExports, exportFiles } from './builtin-exports.mjs';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const args = process.argv.slice(2);
const at = args.indexOf('--out');
const out = resolve(at >= 0 ? (args[at + 1] ?? '') : 'playground-site');
if (at >= 0 && !args[at + 1]) {
  console.error('--out takes a folder name');
  process.exit(2);
}
if (!existsSync(join(dist, 'index.html'))) {
  console.error(`${dist} holds no build: run \`npm run playground:static\` (it builds first) or \`npx nx run @farmer/playground:build\``);
  process.exit(2);
}
// Only an earlier site (or an empty folder) is replaced: never a folder of something else.
if (existsSync(out) && readdirSync(out).length && !existsSync(join(out, 'index.html'))) {
  console.error(`${out} holds something other than a playground site; choose another --out`);
  process.exit(2);
}
let exports;
try {
  exports = builtinExports();
} catch (e) {
  console.error(e.message);
  process.exit(2);
}
await rm(out, { recursive: true, force: true });
await cp(dist, out, { recursive: true });
for (const { path, dir } of exports) {
  const to = join(out, path);
  await mkdir(to, { recursive: true });
  for (const f of await exportFiles(dir)) await cp(join(dir, f), join(to, f));
}
console.log(`playground site → ${out} (the page and the exports of ${exports.map((e) => e.name).join(', ')}); serve it from any static host`);
