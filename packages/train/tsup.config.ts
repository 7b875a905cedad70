import { defineConfig } from 'tsup';
import { packageBuildConfig } from '../../tsup.shared.mjs';

// The training workers are their own entries: worker threads load them by path
// (tfjs replicas: train-worker; host-gradient replicas such as onnxruntime's: host-replica-worker).
export default defineConfig(
  packageBuildConfig({ entry: { index: 'src/index.ts', 'train-worker': 'src/train-worker.ts', 'host-replica-worker': 'src/host-replica-worker.ts' } }),
);
