import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_CLASSIFIERS, BUILTIN_MODEL, BUILTIN_MODEL_INFO, BUILTIN_MODELS, builtinExportPath, classifierOwner } from '../src/browser.js';
import { REPO } from './helpers.js';

const MAX_PACKED_BYTES = 40 * 1024 * 1024;

/** The relative and package imports of a source file. */
function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/g)].map((m) => m[1]);
}

describe('the catalogue of built-in models', () => {
  it('mnist-small (the default), fashion-small and emoji-small, each with its package and its dataset’s classifier', () => {
    expect(BUILTIN_MODELS).toEqual(['mnist-small', 'fashion-small', 'emoji-small']);
    expect(BUILTIN_MODEL).toBe('mnist-small');
    expect(BUILTIN_MODELS.map((m) => [BUILTIN_MODEL_INFO[m].packageName, BUILTIN_MODEL_INFO[m].classifier])).toEqual([
      ['@farmer/model-mnist-small', 'classifier-mnist'],
      ['@farmer/model-fashion-small', 'classifier-fashion'],
      ['@farmer/model-emoji-small', 'classifier-emoji'],
    ]);
    expect(BUILTIN_CLASSIFIERS.map(classifierOwner)).toEqual(['mnist-small', 'fashion-small', 'emoji-small']);
    expect(builtinExportPath('fashion-small')).toBe('models/fashion-small/onnx/');
  });

  it('names the packages of the repo’s models/ folders: each is a workspace with that name', () => {
    const workspaces = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    for (const name of BUILTIN_MODELS) {
      expect(workspaces).toContain(`models/${name}`);
      expect(JSON.parse(readFileSync(join(REPO, 'models', name, 'package.json'), 'utf8')).name).toBe(BUILTIN_MODEL_INFO[name].packageName);
    }
  });

  it('the browser entry imports no Node module and no other package (its files import only each other)', () => {
    const seen = new Set<string>();
    const problems: string[] = [];
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.')) walk(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else problems.push(`${file} imports ${spec}`);
      }
    };
    walk(join(REPO, 'packages', 'models', 'src', 'browser.ts'));
    expect(seen.size).toBeGreaterThan(1);
    expect(problems).toEqual([]);
  });
});

describe('the model packages as npm packs them', () => {
  it.each(BUILTIN_MODELS)('%s: only checkpoint/, classifier/, README.md, LICENSE (and NOTICE, the attribution of a model trained on attributed images) and package.json, under 40 MB', (name) => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: join(REPO, 'models', name), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const [pack] = JSON.parse(out) as { size: number; files: { path: string }[] }[];
    const tops = [...new Set(pack.files.map((f) => f.path.split('/')[0]))].sort();
    expect(tops.filter((t) => t !== 'NOTICE')).toEqual(['LICENSE', 'README.md', 'checkpoint', 'classifier', 'package.json']);
    if (name === 'emoji-small') expect(tops).toContain('NOTICE');
    const paths = pack.files.map((f) => f.path);
    for (const f of ['checkpoint/config.json', 'checkpoint/model.safetensors', 'checkpoint/student.safetensors', 'checkpoint/onnx/manifest.json', 'classifier/config.json']) expect(paths).toContain(f);
    console.log(`${name}: packed ${(pack.size / 1e6).toFixed(1)} MB`);
    expect(pack.size).toBeLessThan(MAX_PACKED_BYTES);
  });
});
