import { farmerDims, parseFarmerConfig, type FarmerConfig } from '@farmer/ar-gmm/browser';
import { FarmerError, fileSizeError, formatZodIssues, type ManifestFile } from '@farmer/core/browser';
import { z } from 'zod';
import { manifestGraphs, MAX_SUPPORTED_OPSET, ONNX_EXPORT_FORMAT, ONNX_EXPORT_VERSION, OnnxManifestSchema, type OnnxManifest } from './manifest.js';

/**
 * Validates the parsed `manifest.json` of an export, wherever it was read
 * (a folder, a URL, files a user picked): a newer layout or an opset
 * onnxruntime 1.30 does not run → FARMER_E_VERSION; a bad manifest, a bad
 * model config, graph lists that do not fit the model, or a file outside
 * the export → FARMER_E_CORRUPT. `manifestPath` names the file in messages.
 */
export function parseExportManifest(raw: unknown, manifestPath: string): { manifest: OnnxManifest; config: FarmerConfig } {
  // Read as plain JSON first: a newer layout is told apart (FARMER_E_VERSION) before the schema refuses it.
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
      if (!Object.hasOwn(manifest.files, f)) throw new FarmerError('FARMER_E_CORRUPT', `${manifestPath}: graph ${key} uses ${f}, which the manifest's file list lacks`, { file: manifestPath });
    }
  }
  for (const name of Object.keys(manifest.files)) {
    if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new FarmerError('FARMER_E_CORRUPT', `${manifestPath} lists a file outside the export folder: ${name}`, { file: manifestPath });
  }
  return { manifest, config };
}

/**
 * Checks one export file against its manifest entry: the size, then the
 * SHA-256 (computed only when the size matches). `where` names the file in
 * messages (a path or a URL).
 */
export async function checkExportFile(where: string, want: ManifestFile, bytes: number, sha256: () => Promise<string>): Promise<void> {
  if (bytes !== want.bytes) throw fileSizeError(where, bytes, want.bytes, 're-export the model');
  if ((await sha256()) !== want.sha256) {
    throw new FarmerError('FARMER_E_CORRUPT', `${where} fails its SHA-256 check (corrupted); re-export the model`, { file: where });
  }
}
