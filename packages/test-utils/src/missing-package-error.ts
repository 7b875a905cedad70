import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The error Node itself gives for importing `pkg` where it is not installed:
 * ESM's (`import()` in a fresh folder, run by a child node so that vitest's
 * own resolver does not answer instead) or CJS's (`require`). Tests use it
 * to see that a missing optional dependency is recognised in Node's real
 * wording, not in one a test made up.
 */
export function missingPackageError(pkg: string, kind: 'esm' | 'cjs' = 'esm'): Error & { code?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'farmer-missing-'));
  try {
    if (kind === 'cjs') {
      try {
        createRequire(join(dir, 'probe.cjs'))(pkg);
      } catch (e) {
        return e as Error & { code?: string };
      }
      throw new Error(`${pkg} is installed where the test expected none (${dir})`);
    }
    const script = `try { await import(${JSON.stringify(pkg)}); console.log('null'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
    const found = JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as { code?: string; message: string } | null;
    if (!found) throw new Error(`${pkg} is installed where the test expected none (${dir})`);
    return Object.assign(new Error(found.message), { code: found.code });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
