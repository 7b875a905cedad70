import { isFarmerError } from '@farmer/core';
import { missingPackageError } from '@farmer/test-utils';
import { describe, expect, it } from 'vitest';
import { loadOrtNode } from '../src/onnx/load-ort-node.js';

describe('loadOrtNode', () => {
  it('loads onnxruntime-node when it is installed', async () => {
    const ort = await loadOrtNode('the test');
    expect(typeof ort.InferenceSession.create).toBe('function');
  });

  it('onnxruntime-node not installed: FARMER_E_BACKEND naming what needs it and the command that installs it', async () => {
    const missing = missingPackageError('onnxruntime-node');
    const err = await loadOrtNode('the ONNX feature extractor net.onnx', async () => Promise.reject(missing)).catch((e) => e);
    expect(isFarmerError(err, 'FARMER_E_BACKEND')).toBe(true);
    expect(err.message).toBe(
      'the ONNX feature extractor net.onnx needs onnxruntime-node: onnxruntime-node is not installed (npm leaves out this optional dependency when its install script fails, e.g. without access to api.nuget.org); ' +
        'for onnxruntime on the CPU, install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0`',
    );
    expect(err.cause).toBe(missing);
  });
});
