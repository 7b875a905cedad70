import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// FARMER's replica module is its own entry: training worker threads import it by path.
export default defineConfig(packageBuildConfig({ entry: { index: 'src/index.ts', 'farmer-replica': 'src/train/farmer-replica.ts' } }));
