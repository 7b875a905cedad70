import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { farmerDims, parseFarmerConfig, type FarmerConfig } from '@farmer/ar-gmm';
import { FarmerError, formatZodIssues, readManifest, resolveCheckpointDir } from '@farmer/core';
import { z } from 'zod';
import { manifestGraphs, MAX_SUPPORTED_OPSET, ONNX_EXPORT_FORMAT, ONNX_EXPORT_VERSION, OnnxManifestSchema, type OnnxManifest } from './manifest.js';

/** A validated export folder: its manifest and model config. */
export interface OnnxExport {
  /** Absolute folder. */
  dir: string;
  manifest: OnnxManifest;
  config: FarmerConfig;
}

export interface ReadOnnxExportOptions {
  /** Check every file's size and SHA-256 against the manifest (default true). */
  verify?: boolean;
}

async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Reads and validates an ONNX export folder (what `exportOnnx` wrote).
 * Errors are FarmerErrors naming the file: no folder or a missing file →
 * FARMER_E_NOT_FOUND; invalid JSON, a bad manifest, a wrong size or
 * checksum → FARMER_E_CORRUPT; a newer layout or an opset onnxruntime 1.30
 * does not run → FARMER_E_VERSION. (Whether ORT accepts each graph is
 * checked when the runtime opens its sessions.)
 */
export async function readOnnxExport(dir: string, options: ReadOnnxExportOptions = {}): Promise<OnnxExport> {
  const abs = resolve(dir);
  const stat = await fs.stat(abs).catch(() => undefined);
  if (!stat) throw new FarmerError('FARMER_E_NOT_FOUND', `ONNX export ${dir} does not exist; create it with \`farmer export onnx <checkpoint> ${dir}\``, { file: dir });
  if (!stat.isDirectory()) throw new FarmerError('FARMER_E_BAD_INPUT', `${dir} is a file; an ONNX export is a directory holding manifest.json`, { file: dir });
  const manifestPath = join(dir, 'manifest.json');
  // Read as plain JSON first: a newer layout is told apart (FARMER_E_VERSION) before the schema refuses it.
  const raw = await readManifest(dir, { schema: z.unknown(), what: 'ONNX export', fix: 're-run `farmer export onnx`' });
  const head = z.object({ format: z.string(), formatVersion: z.number(), opset: z.number() }).partial().safeParse(raw);
  if (head.success && head.data.format === ONNX_EXPORT_FORMAT) {
    if ((head.data.formatVersion ?? 0) > ONNX_EXPORT_VERSION) {
      throw new FarmerError('FARMER_E_VERSION', `${manifestPath} has export format version ${head.data.formatVersion}; this farmer-ts reads version ${ONNX_EXPORT_VERSION}. Upgrade farmer-ts, or re-export with this one`, { file: manifestPath });
    }
    if ((head.data.opset ?? 0) > MAX_SUPPORTED_OPSET) {
      throw new FarmerError('FARMER_E_VERSION', `${manifestPath} uses ONNX opset ${head.data.opset}; onnxruntime-node 1.30 runs up to opset ${MAX_SUPPORTED_OPSET}. Re-export with this farmer-ts (opset 17)`, { file: manifestPath });
    }
  }
  const parsed = OnnxManifestSchema.safeParse(raw);
  if (!parsed.success) throw new FarmerError('FARMER_E_CORRUPT', `${manifestPath} is not a valid farmer ONNX manifest: ${formatZodIssues(parsed.error)}`, { file: manifestPath, issues: parsed.error.issues });
  const manifest = parsed.data;
  let config: FarmerConfig;
  try {
    config = parseFarmerConfig(manifest.model, `${manifestPath} model`);
  } catch (e) {
    throw new FarmerError('FARMER_E_CORRUPT', (e as Error).message, { file: manifestPath }, { cause: e });
  }
  for (const [what, list] of [['reverse-step', manifest.graphs.flowReverseSteps], ['reverse-block', manifest.graphs.flowReverseBlocks ?? []]] as const) {
    if (list.length && list.length !== config.flow.numBlocks) {
      throw new FarmerError('FARMER_E_CORRUPT', `${manifestPath} lists ${list.length} ${what} graphs for ${config.flow.numBlocks} AF blocks`, { file: manifestPath });
    }
  }
  if (farmerDims(config).dR > 0 !== (manifest.graphs.arHeadRedundant !== undefined)) {
    throw new FarmerError('FARMER_E_CORRUPT', `${manifestPath}: the redundant-head graph must be present exactly when the model has redundant channels (d_R > 0)`, { file: manifestPath });
  }
  for (const { key, entry } of manifestGraphs(manifest)) {
    for (const f of [entry.file, entry.weights]) {
      if (!manifest.files[f]) throw new FarmerError('FARMER_E_CORRUPT', `${manifestPath}: graph ${key} uses ${f}, which the manifest's file list lacks`, { file: manifestPath });
    }
  }
  for (const [name, want] of Object.entries(manifest.files)) {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new FarmerError('FARMER_E_CORRUPT', `${manifestPath} lists a file outside the export folder: ${name}`, { file: manifestPath });
    const path = join(abs, name);
    const s = await fs.stat(path).catch(() => undefined);
    if (!s) throw new FarmerError('FARMER_E_NOT_FOUND', `ONNX export ${dir} is missing ${name}; re-run \`farmer export onnx\``, { file: join(dir, name) });
    if (options.verify === false) continue;
    if (s.size !== want.bytes) {
      throw new FarmerError('FARMER_E_CORRUPT', `${join(dir, name)} is ${s.size} bytes, the manifest says ${want.bytes} (truncated or replaced); re-export the model`, { file: join(dir, name) });
    }
    if ((await fileSha256(path)) !== want.sha256) {
      throw new FarmerError('FARMER_E_CORRUPT', `${join(dir, name)} fails its SHA-256 check (corrupted); re-export the model`, { file: join(dir, name) });
    }
  }
  return { dir: abs, manifest, config };
}

/**
 * Whether an export still matches the checkpoint it came from: the SHA-256
 * it recorded for each checkpoint file it read (config.json and the weights
 * parts) against the checkpoint's own manifest. Reads only the checkpoint's
 * manifest. For a server that prefers an export when one exists: a stale
 * export (the checkpoint was trained further) should not be served.
 */
export async function exportMatchesCheckpoint(exp: OnnxExport, checkpointDir: string): Promise<{ current: boolean; reason?: string }> {
  const recorded = exp.manifest.source.files;
  if (!recorded) return { current: false, reason: `${exp.dir} was exported from an in-memory model and records no checkpoint files` };
  const dir = resolveCheckpointDir(checkpointDir);
  const { files } = await readManifest(dir);
  for (const [name, sha] of Object.entries(recorded)) {
    if (files[name]?.sha256 !== sha) return { current: false, reason: `${name} in ${checkpointDir} changed after the export was made; re-run \`farmer export onnx\`` };
  }
  return { current: true };
}

/** Whether `dir` holds an ONNX export (of any layout version): its manifest names the export format. */
export async function isOnnxExport(dir: string): Promise<boolean> {
  const format = z.object({ format: z.literal(ONNX_EXPORT_FORMAT) });
  return readManifest(dir, { schema: format }).then(
    () => true,
    () => false,
  );
}
