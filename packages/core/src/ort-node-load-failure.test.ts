import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeOrtNodeLoadFailure, isOrtNodeMissing, ORT_NODE_CPU_INSTALL } from './ort-node-load-failure.js';

// Node's own errors for a package that is not installed, from a folder with no node_modules.
const dir = mkdtempSync(join(tmpdir(), 'farmer-ort-missing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function esmError(pkg: string): Error {
  const script = `try { await import(${JSON.stringify(pkg)}) } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
  const { code, message } = JSON.parse(r.stdout) as { code: string; message: string };
  return Object.assign(new Error(message), { code });
}

function cjsError(pkg: string): Error {
  try {
    createRequire(join(dir, 'probe.cjs'))(pkg);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${pkg} resolves from ${dir}`);
}

describe('describeOrtNodeLoadFailure', () => {
  it('onnxruntime-node not installed (ESM or CJS): says why npm left it out and the command that installs it for the CPU', () => {
    for (const e of [esmError('onnxruntime-node'), cjsError('onnxruntime-node')]) {
      expect(isOrtNodeMissing(e)).toBe(true);
      const line = describeOrtNodeLoadFailure(e);
      expect(line).toBe(
        'onnxruntime-node is not installed (npm leaves out this optional dependency when its install script fails, e.g. without access to api.nuget.org); ' +
          'for onnxruntime on the CPU, install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0`',
      );
      expect(line).toContain(ORT_NODE_CPU_INSTALL);
    }
  });

  it('any other failure (another package missing, a broken binding) is its first line', () => {
    const other = esmError('onnxruntime-common-not-here');
    expect(isOrtNodeMissing(other)).toBe(false);
    expect(describeOrtNodeLoadFailure(other)).toMatch(/^onnxruntime-node failed to load \(Cannot find package 'onnxruntime-common-not-here' imported from .*\)$/);
    const binding = new Error('libonnxruntime.so.1: cannot open shared object file\n    at Module._extensions..node');
    expect(describeOrtNodeLoadFailure(binding)).toBe('onnxruntime-node failed to load (libonnxruntime.so.1: cannot open shared object file)');
  });
});
