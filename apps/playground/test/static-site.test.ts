import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_MODELS, builtinExportPath, builtinModelDir } from '@farmer/models';
import { afterAll, describe, expect, it } from 'vitest';
import { APP, DIST } from './browser.js';

const SCRIPT = join(APP, 'scripts', 'static-site.mjs');
const work = mkdtempSync(join(tmpdir(), 'farmer-site-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm run playground:static (scripts/static-site.mjs)', () => {
  it('writes the page and a copy of each built-in export from its package, where the page looks for it', () => {
    const out = join(work, 'site');
    execFileSync(process.execPath, [SCRIPT, '--out', out], { stdio: 'pipe' });
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toBe(readFileSync(join(DIST, 'index.html'), 'utf8'));
    for (const name of BUILTIN_MODELS) {
      const from = join(builtinModelDir(name), 'onnx');
      const manifest = JSON.parse(readFileSync(join(from, 'manifest.json'), 'utf8')) as { files: Record<string, unknown> };
      for (const f of ['manifest.json', ...Object.keys(manifest.files)]) expect(readFileSync(join(out, builtinExportPath(name), f)).equals(readFileSync(join(from, f))), `${name}/${f}`).toBe(true);
    }
    // An earlier site is replaced.
    execFileSync(process.execPath, [SCRIPT, '--out', out], { stdio: 'pipe' });
    expect(existsSync(join(out, 'index.html'))).toBe(true);
  });

  it('refuses a folder that holds something else (exit 2), and leaves it alone', () => {
    const other = join(work, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine');
    const r = spawnSync(process.execPath, [SCRIPT, '--out', other], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/holds something other than a playground site; choose another --out/);
    expect(readFileSync(join(other, 'notes.txt'), 'utf8')).toBe('mine');
  });
});
