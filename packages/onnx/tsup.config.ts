import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// Two entries: `@farmer/onnx` (export, manifest, likelihood interface; no native code)
// and `@farmer/onnx/runtime`, the only one that loads onnxruntime-node.
export default defineConfig(packageBuildConfig({ entry: { index: 'src/index.ts', runtime: 'src/runtime/index.ts' } }));
