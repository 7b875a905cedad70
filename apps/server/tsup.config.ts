import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// The library entry, plus the server's own bin (dist/bin.js, shebang kept; no typings needed for it).
export default defineConfig(packageBuildConfig({ entry: ['src/index.ts', 'src/bin.ts'], dts: { entry: 'src/index.ts' } }));
