import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// Two entries: `@farmer/eval` (pure metrics) and `@farmer/eval/onnx`, the only one that loads onnxruntime-node.
export default defineConfig(packageBuildConfig({ entry: { index: 'src/index.ts', onnx: 'src/onnx/index.ts' } }));
