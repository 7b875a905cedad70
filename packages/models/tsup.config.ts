import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// Two entries: `@farmer/models` (Node: finds the installed model folders) and
// `@farmer/models/browser` (the names only, no Node module).
export default defineConfig(packageBuildConfig({ entry: { index: 'src/index.ts', browser: 'src/browser.ts' }, splitting: true }));
