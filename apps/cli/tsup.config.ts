import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// bin.ts is the `farmer` executable (ESM, shebang kept).
export default defineConfig(packageBuildConfig({ entry: ['src/index.ts', 'src/bin.ts'] }));
