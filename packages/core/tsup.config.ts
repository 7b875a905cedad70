import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// Two entries: `@farmer/core` (everything) and `@farmer/core/browser` (no Node module, no tfjs).
// Split into shared chunks, so both entries hand out the same classes (FarmerError, Rng).
export default defineConfig(packageBuildConfig({ entry: { index: 'src/index.ts', browser: 'src/browser.ts' }, splitting: true }));
