import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandWorkspacePattern, publicWorkspaces } from '../src/workspaces.js';

const root = mkdtempSync(join(tmpdir(), 'farmer-ws-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const write = (dir: string, manifest: object) => {
  mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, dir, 'package.json'), JSON.stringify(manifest));
};

describe('workspaces', () => {
  it("finds the root's workspaces (dir/* and folders) and keeps the public ones", () => {
    write('.', { name: 'root', private: true, workspaces: ['packages/*', 'models/*', 'tools/one'] });
    write('packages/a', { name: '@s/a', version: '1.0.0' });
    write('packages/helpers', { name: '@s/helpers', version: '0.0.0', private: true });
    mkdirSync(join(root, 'packages', 'not-a-package'));
    write('models/m', { name: '@s/model-m', version: '1.0.0' });
    write('tools/one', { name: '@s/one', version: '1.0.0' });
    expect(publicWorkspaces(root).map((w) => [w.dir, w.manifest.name])).toEqual([
      ['packages/a', '@s/a'],
      ['models/m', '@s/model-m'],
      ['tools/one', '@s/one'],
    ]);
  });

  it('refuses a glob it cannot expand, rather than matching nothing', () => {
    expect(() => expandWorkspacePattern(root, 'packages/**')).toThrow(/not supported/);
    expect(expandWorkspacePattern(root, 'absent/*')).toEqual([]);
  });
});
