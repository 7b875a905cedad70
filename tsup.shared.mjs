// Shared tsup settings: ESM + CJS + .d.ts for every package.
export function packageBuildConfig(overrides = {}) {
  return {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: false,
    shims: true,
    ...overrides,
  };
}
