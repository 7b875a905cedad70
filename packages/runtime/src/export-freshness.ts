import { readCheckpoint } from '@farmer/core';
import { inferenceWeightsPart, studentMetaOf } from '@farmer/flow';
import { exportMatchesCheckpoint, isOnnxExport, readOnnxExport } from '@farmer/onnx';

/** Whether an export can stand in for its checkpoint, and why not. */
export interface ExportFreshness {
  current: boolean;
  /** Why the export cannot be used (one line), when it cannot. */
  reason?: string;
}

/**
 * Whether the ONNX export in `exportDir` runs the same model as the
 * checkpoint `checkpointDir` would on tfjs: the checkpoint files it was made
 * from are unchanged (SHA-256 against the checkpoint's manifest), it holds
 * the weights inference uses (the student's teacher, else EMA when present),
 * and it has the student when the checkpoint's student decodes those
 * weights. Reads manifests and stats the checkpoint files the export stands
 * in for: one of the wrong size (truncated, replaced) throws, naming it, as
 * reading the checkpoint would (`exportMatchesCheckpoint`). The export's own
 * checksums are verified when it is opened.
 */
export async function exportFreshness(exportDir: string, checkpointDir: string): Promise<ExportFreshness> {
  if (!(await isOnnxExport(exportDir))) return { current: false, reason: `${exportDir} holds no ONNX export` };
  const exp = await readOnnxExport(exportDir, { verify: false }).catch((e: Error) => e);
  if (exp instanceof Error) return { current: false, reason: exp.message };
  const matches = await exportMatchesCheckpoint(exp, checkpointDir);
  if (!matches.current) return matches;
  const head = await readCheckpoint(checkpointDir, { parts: [] });
  const part = inferenceWeightsPart(head);
  if (exp.manifest.source.part !== part) {
    return { current: false, reason: `${exportDir} holds the '${exp.manifest.source.part}' weights; inference uses the '${part}' weights` };
  }
  if (studentMetaOf(head) && !exp.manifest.graphs.student) return { current: false, reason: `${exportDir} lacks the checkpoint's distilled student` };
  if (!exp.manifest.graphs.flowJacobiPasses) return { current: false, reason: `${exportDir} predates the Jacobi decoder's pass graphs` };
  return { current: true };
}
