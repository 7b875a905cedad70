import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { isFarmerError } from '@farmer/core';
import { afterEach, describe, expect, it } from 'vitest';
import { BUILTIN_CLASSIFIERS, builtinClassifierDir, classifierDirOf } from '../src/index.js';
import { fakeCheckpoint, nothingInstalled, REPO, thrown, tmp } from './helpers.js';

const saved = process.env.FARMER_MODELS_DIR;
afterEach(() => {
  if (saved === undefined) delete process.env.FARMER_MODELS_DIR;
  else process.env.FARMER_MODELS_DIR = saved;
});

describe('built-in classifiers by name', () => {
  it('are the classifier/ folders of their model packages', () => {
    delete process.env.FARMER_MODELS_DIR;
    expect(BUILTIN_CLASSIFIERS).toEqual(['classifier-mnist', 'classifier-fashion', 'classifier-emoji']);
    expect(realpathSync(builtinClassifierDir('classifier-mnist'))).toBe(join(REPO, 'models', 'mnist-small', 'classifier'));
    expect(realpathSync(builtinClassifierDir('classifier-fashion'))).toBe(join(REPO, 'models', 'fashion-small', 'classifier'));
  });

  it('FARMER_MODELS_DIR/<classifier-name>/ first, else FARMER_MODELS_DIR/<model>/classifier/', () => {
    const root = tmp();
    fakeCheckpoint(join(root, 'classifier-mnist'));
    fakeCheckpoint(join(root, 'fashion-small', 'classifier'));
    const env = { FARMER_MODELS_DIR: root };
    expect(builtinClassifierDir('classifier-mnist', { env })).toBe(join(root, 'classifier-mnist'));
    expect(builtinClassifierDir('classifier-fashion', { env })).toBe(join(root, 'fashion-small', 'classifier'));
  });

  it('missing: FARMER_E_NOT_FOUND naming the package to install (not installed, or not in FARMER_MODELS_DIR)', () => {
    const e = thrown(() => builtinClassifierDir('classifier-fashion', { env: {}, resolvePackage: nothingInstalled }));
    expect(isFarmerError(e, 'FARMER_E_NOT_FOUND')).toBe(true);
    expect(e!.message).toBe(
      'the built-in classifier classifier-fashion (in the package of fashion-small) is not installed: npm install @farmer/model-fashion-small (or set FARMER_MODELS_DIR to a folder holding fashion-small/)',
    );
    const root = tmp();
    const inDir = thrown(() => builtinClassifierDir('classifier-mnist', { env: { FARMER_MODELS_DIR: root } }));
    expect(isFarmerError(inDir, 'FARMER_E_NOT_FOUND')).toBe(true);
    expect(inDir!.message).toContain(`was not found in FARMER_MODELS_DIR (${root}): put it at ${join(root, 'classifier-mnist')} or ${join(root, 'mnist-small', 'classifier')}`);
    expect(inDir!.message).toContain('npm install @farmer/model-mnist-small');
  });

  it('an unknown name lists the choices (FARMER_E_BAD_INPUT)', () => {
    const e = thrown(() => builtinClassifierDir('classifier-cifar'));
    expect(isFarmerError(e, 'FARMER_E_BAD_INPUT')).toBe(true);
    expect(e!.message).toBe("unknown built-in classifier 'classifier-cifar'; choose one of: classifier-mnist, classifier-fashion, classifier-emoji (or give a classifier directory)");
  });
});

describe('a --classifier value: a built-in name or a folder', () => {
  it('a built-in name is its folder; a folder is itself, even one named like a built-in', () => {
    delete process.env.FARMER_MODELS_DIR;
    expect(classifierDirOf('classifier-mnist')).toBe(builtinClassifierDir('classifier-mnist'));
    const mine = fakeCheckpoint(join(tmp(), 'classifier-mnist'));
    expect(classifierDirOf(mine)).toBe(mine);
    expect(classifierDirOf('./classifier-mnist')).toBe('./classifier-mnist');
    expect(classifierDirOf('runs/missing/classifier')).toBe('runs/missing/classifier');
  });

  it('a bare word that is neither says so, listing the built-in names', () => {
    const e = thrown(() => classifierDirOf('classifier-cifar'));
    expect(isFarmerError(e, 'FARMER_E_NOT_FOUND')).toBe(true);
    expect(e!.message).toBe("classifier 'classifier-cifar' is neither a folder nor a built-in classifier (classifier-mnist, classifier-fashion, classifier-emoji)");
  });
});
