import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// The training worker is its own entry: worker threads load it by path.
export default defineConfig(packageBuildConfig({ entry: { index: 'src/index.ts', 'train-worker': 'src/train-worker.ts' } }));
