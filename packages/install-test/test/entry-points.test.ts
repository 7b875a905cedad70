import { describe, expect, it } from 'vitest';
import { holdsFile, referencedFiles, requireEntrySpecifiers, typedEntrySpecifiers } from '../src/entry-points.js';
import type { PackageManifest } from '../src/package-manifest.js';

const lib: PackageManifest = {
  name: '@farmer/x',
  version: '0.1.0',
  type: 'module',
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.ts',
  bin: { x: './dist/bin.js' },
  exports: {
    '.': { import: { types: './dist/index.d.ts', default: './dist/index.js' }, require: { types: './dist/index.d.cts', default: './dist/index.cjs' } },
    './web': { import: './dist/web.js' },
    './package.json': './package.json',
  },
};

describe('entry points', () => {
  it('lists every file package.json points at', () => {
    expect(referencedFiles(lib)).toEqual(['dist/bin.js', 'dist/index.cjs', 'dist/index.d.cts', 'dist/index.d.ts', 'dist/index.js', 'dist/web.js', 'package.json']);
    expect(referencedFiles({ name: 'm', version: '1.0.0', files: ['checkpoint'] })).toEqual([]);
  });

  it('finds a missing file, and matches patterns', () => {
    expect(holdsFile(['dist/index.js'], 'dist/index.js')).toBe(true);
    expect(holdsFile(['package.json'], 'dist/index.js')).toBe(false);
    expect(holdsFile(['dist/a/x.js'], 'dist/*.js')).toBe(true);
    expect(holdsFile(['dist/a/x.cjs'], 'dist/*.js')).toBe(false);
  });

  it('gives the typed and the require-able specifiers (not ./package.json, not an entry without them)', () => {
    expect(typedEntrySpecifiers(lib)).toEqual(['@farmer/x']);
    expect(requireEntrySpecifiers(lib)).toEqual(['@farmer/x']);
    expect(typedEntrySpecifiers({ name: 'p', version: '1.0.0', exports: { './package.json': './package.json' } })).toEqual([]);
    expect(requireEntrySpecifiers({ name: 'old', version: '1.0.0', main: 'index.js' })).toEqual(['old']);
    expect(typedEntrySpecifiers({ name: 'old', version: '1.0.0', main: 'index.js', types: 'index.d.ts' })).toEqual(['old']);
    expect(requireEntrySpecifiers({ name: 'c', version: '1.0.0', exports: './x.js' })).toEqual(['c']);
    expect(requireEntrySpecifiers({ name: 'e', version: '1.0.0', type: 'module', exports: './x.js' })).toEqual([]);
  });
});
