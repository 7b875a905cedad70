import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// FARMER's replica module is its own entry: training worker threads import it by path.
// `@farmer/ar-gmm/browser` holds no Node module and no tfjs; the entries share chunks, so they share classes.
export default defineConfig(
  packageBuildConfig({ entry: { index: 'src/index.ts', browser: 'src/browser.ts', 'farmer-replica': 'src/train/farmer-replica.ts' }, splitting: true }),
);
