import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// Two entries: `@farmer/flow` (everything) and `@farmer/flow/browser` (no Node module, no tfjs),
// split into shared chunks so both hand out the same code.
export default defineConfig(packageBuildConfig({ entry: { index: 'src/index.ts', browser: 'src/browser.ts' }, splitting: true }));
