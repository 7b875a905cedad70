// Shared tsup settings: ESM + CJS + .d.ts for every package.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The package's optionalDependencies (tsup runs in the package's folder). tsup
 * leaves dependencies and peerDependencies out of the bundle but not optional
 * ones, and onnxruntime-node (optional: see ORT_NODE_VERSION in @farmer/core)
 * must stay a runtime import.
 */
function optionalDependencies() {
  const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8'));
  return Object.keys(pkg.optionalDependencies ?? {});
}

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
    external: optionalDependencies(),
    ...overrides,
  };
}
