import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// Three entries: `@farmer/onnx` (export, manifest, likelihood interface; no native code),
// `@farmer/onnx/runtime`, the only one that loads onnxruntime-node, and `@farmer/onnx/web`
// (the same runner for pages: no Node module; the page injects onnxruntime-web).
// They share chunks, so the runner is one class whichever entry hands it out.
// A fourth, `ort-replica`, is what data-parallel training's worker threads import by path.
export default defineConfig(
  packageBuildConfig({ entry: { index: 'src/index.ts', runtime: 'src/runtime/index.ts', web: 'src/web/index.ts', 'ort-replica': 'src/runtime/ort-replica.ts' }, splitting: true }),
);
