import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isFarmerError } from './errors.js';
import { BUILTIN_MODEL, BUILTIN_MODELS } from './builtin-model-names.js';
import { builtinModelDir, builtinModels } from './model-paths.js';

const saved = process.env.FARMER_MODELS_DIR;
afterEach(() => {
  if (saved === undefined) delete process.env.FARMER_MODELS_DIR;
  else process.env.FARMER_MODELS_DIR = saved;
});

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** A models folder holding stand-in built-ins (a config.json each is all the lookup reads). */
function modelsRoot(names: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'farmer-models-'));
  for (const name of names) {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'config.json'), '{}');
  }
  return root;
}

describe('built-in models by name', () => {
  it('are mnist-small (the default) and fashion-small', () => {
    expect(BUILTIN_MODELS).toEqual(['mnist-small', 'fashion-small']);
    expect(BUILTIN_MODEL).toBe('mnist-small');
  });

  it('are found in FARMER_MODELS_DIR, by name or the default', () => {
    const root = modelsRoot(['mnist-small', 'fashion-small']);
    process.env.FARMER_MODELS_DIR = root;
    expect(builtinModelDir()).toBe(join(root, 'mnist-small'));
    expect(builtinModelDir('fashion-small')).toBe(join(root, 'fashion-small'));
    expect(builtinModels()).toEqual([
      { name: 'mnist-small', dir: join(root, 'mnist-small') },
      { name: 'fashion-small', dir: join(root, 'fashion-small') },
    ]);
  });

  it('lists only those present; an unknown name lists the choices, a missing one says where it looked', () => {
    const root = modelsRoot(['mnist-small', 'not-a-builtin']);
    process.env.FARMER_MODELS_DIR = root;
    expect(builtinModels().map((m) => m.name)).toEqual(['mnist-small']);
    expect(() => builtinModelDir('cifar-huge')).toThrow(/unknown built-in model 'cifar-huge'; choose one of: mnist-small, fashion-small/);
    expect(isFarmerError(thrown(() => builtinModelDir('cifar-huge')), 'FARMER_E_BAD_INPUT')).toBe(true);
    const missing = thrown(() => builtinModelDir('fashion-small'));
    expect(isFarmerError(missing, 'FARMER_E_NOT_FOUND')).toBe(true);
    expect((missing as Error).message).toContain(`fashion-small (models/fashion-small) was not found in ${root}`);
  });

  it('the repo’s models/ folder is found by walking up when FARMER_MODELS_DIR is unset', () => {
    delete process.env.FARMER_MODELS_DIR;
    expect(builtinModelDir()).toMatch(/models[\\/]mnist-small$/);
    expect(builtinModels().map((m) => m.name)).toContain('mnist-small');
  });
});
