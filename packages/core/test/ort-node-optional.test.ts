import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ORT_NODE_VERSION } from '../src/index.js';
import { repoRoot } from './repo-root.js';

const root = repoRoot();

/** Every workspace's package.json, from the root's `workspaces` globs (`dir/*`). */
function workspaceManifests(): { dir: string; pkg: Record<string, Record<string, string> | undefined> }[] {
  const globs = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  return globs.flatMap((glob) => {
    const parent = glob.replace(/\/\*$/, '');
    const dirs = glob.endsWith('/*') ? readdirSync(join(root, parent), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${parent}/${e.name}`) : [glob];
    return dirs.filter((d) => existsSync(join(root, d, 'package.json'))).map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) }));
  });
}

describe('onnxruntime-node', () => {
  // Its install script downloads the CUDA provider from api.nuget.org on linux/x64; as a plain
  // dependency, a failed download fails the user's whole `npm install`.
  it('is an optional dependency, at ORT_NODE_VERSION, in every package that lists it', () => {
    const listed: string[] = [];
    const problems: string[] = [];
    for (const { dir, pkg } of workspaceManifests()) {
      for (const field of ['dependencies', 'peerDependencies']) if (pkg[field]?.['onnxruntime-node']) problems.push(`${dir} lists onnxruntime-node in ${field}`);
      const optional = pkg.optionalDependencies?.['onnxruntime-node'];
      if (optional === undefined) continue;
      listed.push(dir);
      if (optional !== ORT_NODE_VERSION) problems.push(`${dir} asks for onnxruntime-node ${optional}, not ${ORT_NODE_VERSION}`);
    }
    expect(problems).toEqual([]);
    expect(listed).toContain('packages/onnx');
  });
});
