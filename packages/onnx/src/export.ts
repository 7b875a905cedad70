import { dirname, resolve } from 'node:path';
import { farmerDims, farmerFromCheckpoint, type FarmerModel } from '@farmer/ar-gmm';
import { checkOutputDirectory, FarmerError, manifestEntry, readCheckpoint, resolveCheckpointDir, writeDirectoryAtomic, type DirectoryFile, type ParamStore } from '@farmer/core';
import { inferenceWeightsPart, parseFlowConfig, readJacobiPlanFile, studentFromCheckpoint, studentMetaOf, STUDENT_PARTS, type FlowConfig, type JacobiPlanFile } from '@farmer/flow';
import { buildArForward, buildArHeadRedundant, buildArPrefill, buildArStep } from './ar-graphs.js';
import { buildFlowForward, buildFlowJacobiPass, buildFlowReverseBlock, buildFlowReverseStep, buildStudent } from './flow-graphs.js';
import { ONNX_IR_VERSION, ONNX_OPSET, WeightsFile, type GraphBuilder } from './graph-builder.js';
import { KV_CACHE_LAYOUT, ONNX_EXPORT_FORMAT, ONNX_EXPORT_VERSION, type GraphEntry, type OnnxManifest } from './manifest.js';
import { ONNX_EXPORT_OUTPUT } from './export-output.js';

/** The weights of a distilled student (docs/method.md §8.1 student): the AF's names and config. `Student` from @farmer/flow fits. */
export interface StudentWeights {
  config: FlowConfig;
  params: ParamStore;
}

export interface ExportProgress {
  /** File just written into the export. */
  file: string;
  done: number;
  total: number;
}

/** Options of {@link exportFarmerOnnx} (an in-memory model). */
export interface ExportFarmerOnnxOptions {
  /** A distilled student to export as `student.onnx` (its config must be the model's AF config). */
  student?: StudentWeights;
  /** Provenance recorded in the manifest (default: an in-memory model). */
  source?: OnnxManifest['source'];
  /** Replace whatever is at `outDir` (default: only an earlier export or an empty folder). */
  force?: boolean;
  /** Called after each file is written. */
  onProgress?: (p: ExportProgress) => void;
  /** The model's Jacobi plan, carried in the manifest (docs/method.md §3.13 Jacobi decoding). */
  jacobiPlan?: JacobiPlanFile;
}

/** Options of {@link exportOnnx} (from a checkpoint directory). */
export interface ExportOnnxOptions {
  /**
   * Which weights: the EMA weights when the checkpoint has them (true), or
   * the raw ones (false). Default: the weights the checkpoint's student was
   * distilled from when it has one, else EMA when present (as loadTfRunner).
   */
  ema?: boolean;
  /** Export the distilled student when the checkpoint has one (default true). */
  student?: boolean;
  /** Take the student's EMA weights when present (default true, as @farmer/flow's loadStudent). */
  studentEma?: boolean;
  /** Replace whatever is at `outDir` (default: only an earlier export or an empty folder). */
  force?: boolean;
  /** Called after each file is written. */
  onProgress?: (p: ExportProgress) => void;
}

export interface ExportResult {
  /** The export folder (absolute). */
  dir: string;
  manifest: OnnxManifest;
}

/** One file of the export: name and bytes. */
interface ExportFile extends DirectoryFile {
  bytes: Uint8Array;
}

function graphFile(g: GraphBuilder, file: string, weights: WeightsFile, doc: string): { file: ExportFile; entry: GraphEntry } {
  const bytes = g.encode(doc);
  return { file: { name: file, bytes }, entry: { file, weights: weights.fileName, ...g.signature() } };
}

function sameFlowConfig(a: FlowConfig, b: FlowConfig): boolean {
  return JSON.stringify(parseFlowConfig(a)) === JSON.stringify(parseFlowConfig(b));
}

/**
 * Writes the ONNX export of an in-memory FARMER model into `outDir` (see
 * {@link exportOnnx} for the layout). The folder is written to a temporary
 * sibling and renamed into place, so a crash never leaves half an export.
 * An earlier export there is replaced; anything else (a file, another
 * non-empty folder) is refused before any graph is built, unless `force`
 * (core's rule, `checkOutputDirectory` of @farmer/core).
 */
export async function exportFarmerOnnx(model: FarmerModel, outDir: string, options: ExportFarmerOnnxOptions = {}): Promise<ExportResult> {
  const c = model.config;
  const target = resolve(outDir);
  checkOutputDirectory(outDir, ONNX_EXPORT_OUTPUT, { force: options.force });
  if (options.student && !sameFlowConfig(options.student.config, c.flow)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', 'the student was made for another AF config than this model\'s; export it with its own teacher', { field: 'student' });
  }
  const flowW = new WeightsFile('flow.weights');
  const arW = new WeightsFile('ar.weights');
  const files: ExportFile[] = [];
  const add = (r: { file: ExportFile; entry: GraphEntry }) => {
    files.push(r.file);
    return r.entry;
  };
  const flowForward = add(graphFile(buildFlowForward(model.flow.params, c.flow, flowW), 'flow-forward.onnx', flowW, 'FARMER AF forward (docs/method.md §3.1 block forward): images → z, per-block log|det|'));
  const flowReverseSteps = Array.from({ length: c.flow.numBlocks }, (_, t) =>
    add(graphFile(buildFlowReverseStep(model.flow.params, c.flow, t, flowW), `flow-reverse-step-${t}.onnx`, flowW, `FARMER AF block ${t} reverse, one token with KV cache (docs/method.md §3.3 block inverse)`)),
  );
  const flowReverseBlocks = Array.from({ length: c.flow.numBlocks }, (_, t) =>
    add(graphFile(buildFlowReverseBlock(model.flow.params, c.flow, t, flowW), `flow-reverse-block-${t}.onnx`, flowW, `FARMER AF block ${t} reverse, all tokens in one call (the step graph in a Loop)`)),
  );
  const flowJacobiPasses = Array.from({ length: c.flow.numBlocks }, (_, t) =>
    add(graphFile(buildFlowJacobiPass(model.flow.params, c.flow, t, flowW), `flow-jacobi-pass-${t}.onnx`, flowW, `FARMER AF block ${t}: one causal pass over a token prefix, the Jacobi decoder's fixed-point map (docs/method.md §3.13 Jacobi decoding)`)),
  );
  const arForward = add(graphFile(buildArForward(model.ar.params, c, arW), 'ar-forward.onnx', arW, 'FARMER AR teacher-forced pass (docs/method.md §4.4 GMM heads): raw GMM head outputs'));
  const arPrefill = add(graphFile(buildArPrefill(model.ar.params, c, arW), 'ar-prefill.onnx', arW, 'FARMER AR class-prefix prefill: raw G_1 head and KV caches'));
  const arStep = add(graphFile(buildArStep(model.ar.params, c, arW), 'ar-step.onnx', arW, 'FARMER AR one token with KV cache: raw next-GMM head'));
  const arHeadRedundant =
    farmerDims(c).dR > 0 ? add(graphFile(buildArHeadRedundant(model.ar.params, c, arW), 'ar-head-redundant.onnx', arW, 'FARMER AR redundant head on ar-step\'s hidden output')) : undefined;
  let student: GraphEntry | undefined;
  const weightFiles = [flowW, arW];
  if (options.student) {
    const sw = new WeightsFile('student.weights');
    student = add(graphFile(buildStudent(options.student.params, options.student.config, sw), 'student.onnx', sw, 'FARMER one-step distilled AF inverse (docs/method.md §8.1 student)'));
    weightFiles.push(sw);
  }
  for (const w of weightFiles) files.push({ name: w.fileName, bytes: w.bytes() });
  const manifest: OnnxManifest = {
    format: ONNX_EXPORT_FORMAT,
    formatVersion: ONNX_EXPORT_VERSION,
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    producer: '@farmer/onnx',
    createdAt: new Date().toISOString(),
    model: c as unknown as Record<string, unknown>,
    source: options.source ?? { checkpoint: null, part: 'memory' },
    kvCache: KV_CACHE_LAYOUT,
    graphs: { flowForward, flowReverseSteps, flowReverseBlocks, flowJacobiPasses, arForward, arPrefill, arStep, ...(arHeadRedundant ? { arHeadRedundant } : {}), ...(student ? { student } : {}) },
    files: Object.fromEntries(files.map((f) => [f.name, manifestEntry(f.bytes)])),
    ...(options.jacobiPlan ? { jacobiPlan: options.jacobiPlan } : {}),
  };
  await writeExportDir(target, files, manifest, options);
  return { dir: target, manifest };
}

/** Writes the export folder atomically, the manifest last (a folder with a manifest is complete). */
async function writeExportDir(target: string, files: ExportFile[], manifest: OnnxManifest, options: Pick<ExportFarmerOnnxOptions, 'force' | 'onProgress'>): Promise<void> {
  const all: DirectoryFile[] = [...files, { name: 'manifest.json', bytes: `${JSON.stringify(manifest, null, 2)}\n` }];
  await writeDirectoryAtomic(target, all, { kind: ONNX_EXPORT_OUTPUT, force: options.force, onFile: (file, done) => options.onProgress?.({ file, done, total: all.length }) });
}

/**
 * `farmer export onnx`: exports a FARMER checkpoint (or a run directory
 * holding `checkpoint/`) to `outDir`:
 * - `flow-forward.onnx`: images [B, C, H, W] → z [B, N, d], logdets [B, n];
 * - `flow-reverse-step-{t}.onnx`: one token of block t's reverse with KV cache;
 * - `flow-reverse-block-{t}.onnx`: block t's whole reverse (that step in a Loop);
 * - `flow-jacobi-pass-{t}.onnx`: block t's Jacobi fixed-point map on a token prefix;
 * - `ar-forward.onnx`, `ar-prefill.onnx`, `ar-step.onnx`: the AR's
 *   teacher-forced pass, class-prefix prefill and one-token step (raw GMM
 *   head outputs, KV caches explicit), and `ar-head-redundant.onnx` (d_R > 0);
 * - `student.onnx` when the checkpoint holds a distilled student;
 * - `flow.weights`, `ar.weights`, `student.weights`: the weights, as ONNX
 *   external data shared by the graphs;
 * - `manifest.json`: config, graph signatures, opset, SHA-256 of every file,
 *   and the source checkpoint.
 * All graphs are fp32, IR 8, opset 17, with a dynamic batch dimension.
 */
export async function exportOnnx(checkpointDir: string, outDir: string, options: ExportOnnxOptions = {}): Promise<ExportResult> {
  const abs = resolveCheckpointDir(checkpointDir);
  checkOutputDirectory(outDir, ONNX_EXPORT_OUTPUT, { force: options.force }); // before the weights are read
  const head = await readCheckpoint(abs, { parts: [] });
  const meta = options.student === false ? undefined : studentMetaOf(head);
  const hasEma = head.parts.includes('ema');
  const part = options.ema === undefined ? inferenceWeightsPart(head) : options.ema && hasEma ? 'ema' : 'model';
  const notes: string[] = [];
  let withStudent = meta !== undefined;
  if (meta && meta.teacher.part !== part) {
    withStudent = false;
    notes.push(`student not exported: it was distilled from the '${meta.teacher.part}' weights, the export uses '${part}'`);
  }
  const studentPart = withStudent && options.studentEma !== false && head.parts.includes(STUDENT_PARTS.ema) ? STUDENT_PARTS.ema : STUDENT_PARTS.weights;
  const ck = await readCheckpoint(abs, { parts: withStudent ? [part, studentPart] : [part] });
  const model = farmerFromCheckpoint(ck, part);
  try {
    const student = withStudent ? studentFromCheckpoint(ck, { ema: studentPart === STUDENT_PARTS.ema }) : undefined;
    try {
      const used = ['config.json', `${part}.safetensors`, ...(student ? [`${studentPart}.safetensors`] : [])];
      const source: OnnxManifest['source'] = {
        // An export inside its checkpoint (`<checkpoint>/onnx`) names it relatively, so a shipped or moved one carries no machine path.
        checkpoint: dirname(resolve(outDir)) === abs ? '..' : abs,
        part,
        files: Object.fromEntries(used.map((f) => [f, ck.manifest.files[f]?.sha256 ?? ''])),
        ...(student && meta ? { student: { part: studentPart, teacher: meta.teacher } } : {}),
        ...(notes.length ? { notes } : {}),
      };
      const jacobiPlan = await readJacobiPlanFile(abs, model.config.flow.numBlocks);
      return await exportFarmerOnnx(model, outDir, { student, source, jacobiPlan, force: options.force, onProgress: options.onProgress });
    } finally {
      student?.dispose();
    }
  } finally {
    model.dispose();
  }
}
