import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { isFarmerError } from '@farmer/core';
import { afterEach, describe, expect, it } from 'vitest';
import { BUILTIN_MODEL, BUILTIN_MODELS, builtinModelDir, builtinModels } from '../src/index.js';
import { fakeCheckpoint, nothingInstalled, REPO, thrown, tmp } from './helpers.js';

const saved = process.env.FARMER_MODELS_DIR;
afterEach(() => {
  if (saved === undefined) delete process.env.FARMER_MODELS_DIR;
  else process.env.FARMER_MODELS_DIR = saved;
});

/** A node_modules with the given model packages (each laid out as the real ones: checkpoint/ in the package). */
function installed(names: string[]): { resolvePackage: (s: string) => string; root: string } {
  const root = tmp('farmer-node-modules-');
  for (const name of names) {
    const pkg = join(root, '@farmer', `model-${name}`);
    fakeCheckpoint(join(pkg, 'checkpoint'));
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: `@farmer/model-${name}` }));
  }
  const resolvePackage = (specifier: string) => {
    const m = /^(@farmer\/model-[^/]+)\/package\.json$/.exec(specifier);
    const name = m?.[1].slice('@farmer/model-'.length);
    if (!name || !names.includes(name)) return nothingInstalled(specifier);
    return join(root, m![1], 'package.json');
  };
  return { resolvePackage, root };
}

describe('built-in models: where they are found', () => {
  it('without FARMER_MODELS_DIR: the installed packages, here the workspace’s models/NAME/checkpoint', () => {
    delete process.env.FARMER_MODELS_DIR;
    expect(realpathSync(builtinModelDir())).toBe(join(REPO, 'models', BUILTIN_MODEL, 'checkpoint'));
    expect(realpathSync(builtinModelDir('fashion-small'))).toBe(join(REPO, 'models', 'fashion-small', 'checkpoint'));
    expect(builtinModels().map((m) => m.name)).toEqual([...BUILTIN_MODELS]);
  });

  it('the package is resolved through the lookup’s resolver: only the packages installed there are listed', () => {
    const { resolvePackage, root } = installed(['fashion-small']);
    expect(builtinModelDir('fashion-small', { env: {}, resolvePackage })).toBe(join(root, '@farmer', 'model-fashion-small', 'checkpoint'));
    expect(builtinModels({ env: {}, resolvePackage })).toEqual([{ name: 'fashion-small', dir: join(root, '@farmer', 'model-fashion-small', 'checkpoint') }]);
  });

  it('FARMER_MODELS_DIR overrides the installed packages: NAME/ there is a checkpoint or a run directory', () => {
    const root = tmp();
    fakeCheckpoint(join(root, 'mnist-small'));
    fakeCheckpoint(join(root, 'fashion-small', 'checkpoint'));
    const { resolvePackage } = installed(['mnist-small', 'fashion-small']);
    const env = { FARMER_MODELS_DIR: root };
    expect(builtinModelDir(undefined, { env, resolvePackage })).toBe(join(root, 'mnist-small'));
    expect(builtinModelDir('fashion-small', { env, resolvePackage })).toBe(join(root, 'fashion-small', 'checkpoint'));
    // The variable of the process is read when the lookup gives no environment.
    process.env.FARMER_MODELS_DIR = root;
    expect(builtinModelDir('fashion-small')).toBe(join(root, 'fashion-small', 'checkpoint'));
    expect(builtinModels()).toEqual([
      { name: 'mnist-small', dir: join(root, 'mnist-small') },
      { name: 'fashion-small', dir: join(root, 'fashion-small', 'checkpoint') },
    ]);
  });

  it('FARMER_MODELS_DIR is the only place looked in: lists only the built-ins there, the others are not found', () => {
    const root = tmp();
    fakeCheckpoint(join(root, 'mnist-small'));
    fakeCheckpoint(join(root, 'not-a-builtin'));
    process.env.FARMER_MODELS_DIR = root;
    expect(builtinModels().map((m) => m.name)).toEqual(['mnist-small']);
    const e = thrown(() => builtinModelDir('fashion-small'));
    expect(isFarmerError(e, 'FARMER_E_NOT_FOUND')).toBe(true);
    expect(e!.message).toBe(
      `the built-in model fashion-small was not found in FARMER_MODELS_DIR (${root}): put it at ${join(root, 'fashion-small')}, or unset FARMER_MODELS_DIR to use the installed package (npm install @farmer/model-fashion-small)`,
    );
    expect(e!.details).toMatchObject({ field: 'model', package: '@farmer/model-fashion-small' });
  });

  it('an unknown name lists the choices (FARMER_E_BAD_INPUT)', () => {
    const e = thrown(() => builtinModelDir('cifar-huge'));
    expect(isFarmerError(e, 'FARMER_E_BAD_INPUT')).toBe(true);
    expect(e!.message).toMatch(/unknown built-in model 'cifar-huge'; choose one of: mnist-small, fashion-small, emoji-small/);
  });
});

describe('built-in models: a missing package names the package to install', () => {
  it('a resolver that cannot find the package: FARMER_E_NOT_FOUND saying npm install @farmer/model-NAME', () => {
    for (const name of BUILTIN_MODELS) {
      const e = thrown(() => builtinModelDir(name, { env: {}, resolvePackage: nothingInstalled }));
      expect(isFarmerError(e, 'FARMER_E_NOT_FOUND')).toBe(true);
      expect(e!.message).toBe(`the built-in model ${name} is not installed: npm install @farmer/model-${name} (or set FARMER_MODELS_DIR to a folder holding ${name}/)`);
      expect(e!.details).toMatchObject({ field: 'model', package: `@farmer/model-${name}` });
    }
    expect(builtinModels({ env: {}, resolvePackage: nothingInstalled })).toEqual([]);
  });

  it('Node’s own resolution from a project without the packages (a user of @farmer/runtime alone)', () => {
    const project = tmp('farmer-project-');
    writeFileSync(join(project, 'package.json'), '{"name":"someone","private":true}');
    const resolvePackage = createRequire(join(project, 'index.js')).resolve;
    expect(thrown(() => builtinModelDir(undefined, { env: {}, resolvePackage }))!.message).toContain('npm install @farmer/model-mnist-small');
  });

  it('an installed package without its checkpoint is reported, with how to reinstall it', () => {
    const { resolvePackage, root } = installed(['mnist-small']);
    const pkg = join(root, '@farmer', 'model-mnist-small');
    writeFileSync(join(pkg, 'checkpoint', 'config.json'), '{}');
    mkdirSync(join(root, 'elsewhere'));
    const broken = (s: string) => (s.startsWith('@farmer/model-mnist-small/') ? join(root, 'elsewhere', 'package.json') : nothingInstalled(s));
    const e = thrown(() => builtinModelDir('mnist-small', { env: {}, resolvePackage: broken }));
    expect(isFarmerError(e, 'FARMER_E_NOT_FOUND')).toBe(true);
    expect(e!.message).toBe(`the built-in model mnist-small at ${join(root, 'elsewhere')} holds no checkpoint; reinstall it: npm install @farmer/model-mnist-small`);
    // Listed all the same, with its folder, so that opening it says why it fails.
    expect(builtinModels({ env: {}, resolvePackage: broken })).toEqual([{ name: 'mnist-small', dir: join(root, 'elsewhere') }]);
    expect(builtinModelDir('mnist-small', { env: {}, resolvePackage })).toBe(join(pkg, 'checkpoint'));
  });
});
