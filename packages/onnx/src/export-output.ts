import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointOutput, type OutputKind } from '@farmer/core';
import { ONNX_EXPORT_FORMAT } from './manifest.js';

/**
 * ONNX exports as an output of core's directory writer: an export replaces
 * only an earlier export (of any layout version), recognised by its
 * manifest naming the export format (a checkpoint has a manifest.json too).
 */
export const ONNX_EXPORT_OUTPUT: OutputKind = {
  name: 'an ONNX export',
  holds: (dir) => {
    try {
      return (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { format?: unknown } | null)?.format === ONNX_EXPORT_FORMAT;
    } catch {
      return false;
    }
  },
  // The folder most often given by mistake: a checkpoint ("a 'farmer' checkpoint").
  describe: (dir) => checkpointOutput().describe?.(dir),
};
