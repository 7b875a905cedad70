import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FarmerConfig } from '@farmer/ar-gmm';
import { checkCheckpointFileSizes, FarmerError, ownValue, readManifest, resolveCheckpointDir } from '@farmer/core';
import { z } from 'zod';
import { checkExportFile, parseExportManifest } from './export-manifest.js';
import { ONNX_EXPORT_OUTPUT } from './export-output.js';
import { ONNX_EXPORT_FORMAT, type OnnxManifest } from './manifest.js';

/** A validated export folder: its manifest and model config. */
export interface OnnxExport {
  /** Absolute folder. */
  dir: string;
  manifest: OnnxManifest;
  config: FarmerConfig;
}

/** Options of {@link readOnnxExport}. */
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
 * does not run → FARMER_E_VERSION. The manifest's checks are
 * `parseExportManifest`'s, shared with the browser; whether ORT accepts
 * each graph is checked when the runtime opens its sessions.
 */
export async function readOnnxExport(dir: string, options: ReadOnnxExportOptions = {}): Promise<OnnxExport> {
  const abs = resolve(dir);
  const stat = await fs.stat(abs).catch(() => undefined);
  if (!stat) throw new FarmerError('FARMER_E_NOT_FOUND', `ONNX export ${dir} does not exist; create it with \`farmer export onnx <checkpoint> ${dir}\``, { file: dir });
  if (!stat.isDirectory()) throw new FarmerError('FARMER_E_BAD_INPUT', `${dir} is a file; an ONNX export is a directory holding manifest.json`, { file: dir });
  const manifestPath = join(dir, 'manifest.json');
  const raw = await readManifest(dir, { schema: z.unknown(), what: 'ONNX export', fix: 're-run `farmer export onnx`' });
  const { manifest, config } = parseExportManifest(raw, manifestPath);
  for (const [name, want] of Object.entries(manifest.files)) {
    const path = join(abs, name);
    const s = await fs.stat(path).catch(() => undefined);
    if (!s) throw new FarmerError('FARMER_E_NOT_FOUND', `ONNX export ${dir} is missing ${name}; re-run \`farmer export onnx\``, { file: join(dir, name) });
    if (options.verify === false) continue;
    await checkExportFile(join(dir, name), want, s.size, () => fileSha256(path));
  }
  return { dir: abs, manifest, config };
}

/**
 * Whether an export still matches the checkpoint it came from: the SHA-256
 * it recorded for each checkpoint file it read (config.json and the weights
 * parts) against the checkpoint's own manifest. For a server that prefers an
 * export when one exists: a stale export (the checkpoint was trained
 * further) should not be served. When it matches, the export stands in for
 * those files, so they are checked to be intact first, by their sizes (a
 * `stat` each, see `checkCheckpointFileSizes`; hashing them would cost what
 * the export saves): a truncated or missing file throws FARMER_E_CORRUPT or
 * FARMER_E_NOT_FOUND naming it, as reading the checkpoint would.
 */
export async function exportMatchesCheckpoint(exp: OnnxExport, checkpointDir: string): Promise<{ current: boolean; reason?: string }> {
  const recorded = exp.manifest.source.files;
  if (!recorded) return { current: false, reason: `${exp.dir} was exported from an in-memory model and records no checkpoint files` };
  const dir = resolveCheckpointDir(checkpointDir);
  const manifest = await readManifest(dir);
  for (const [name, sha] of Object.entries(recorded)) {
    if (ownValue(manifest.files, name)?.sha256 !== sha) return { current: false, reason: `${name} in ${checkpointDir} changed after the export was made; re-run \`farmer export onnx\`` };
  }
  await checkCheckpointFileSizes(dir, manifest, Object.keys(recorded));
  return { current: true };
}

/** Whether `dir` holds an ONNX export (of any layout version): its manifest names the export format. */
export async function isOnnxExport(dir: string): Promise<boolean> {
  return ONNX_EXPORT_OUTPUT.holds(dir);
}
