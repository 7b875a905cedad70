#!/usr/bin/env node
// The README's test command: builds and tests every package in dependency order
// through nx, then prints one closing line `N passed, N failed` summed over packages.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, '.test-results');
rmSync(results, { recursive: true, force: true });

const nx = join(root, 'node_modules', '.bin', 'nx');
const args = ['run-many', '-t', 'build', 'test', '--output-style=static', ...process.argv.slice(2)];
const run = spawnSync(nx, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, NX_DAEMON: 'false', FARMER_TEST_RESULTS: results },
});

let passed = 0;
let failed = 0;
let skipped = 0;
const files = existsSync(results) ? readdirSync(results).filter((f) => f.endsWith('.json')) : [];
for (const f of files.sort()) {
  const r = JSON.parse(readFileSync(join(results, f), 'utf8'));
  console.log(`  ${r.name}: ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}`);
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
}
// A build or test target that died before its reporter ran is still a failure.
if (run.status !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
