import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { FarmerError, resolveCheckpointDir } from '@farmer/core';

/**
 * What a job needs of the model that runs it: the same name, the same
 * weights (the checkpoint's hash) and the same runtime, since only those
 * together promise the same bytes for the same seeds.
 */
export interface ModelIdentity {
  /** The model's name, which is also its queue's. */
  model: string;
  /** {@link checkpointHash} of its folder. */
  checkpointHash: string;
  /** The runner's runtime, e.g. 'onnxruntime' or 'tfjs'. */
  runtime: string;
}

/**
 * A checkpoint's identity: SHA-256 over its manifest's file list (each
 * file's name and SHA-256, sorted), hex. The manifest already holds every
 * file's checksum, so this reads one small file; two folders with the same
 * files hash alike wherever they sit. Works on a checkpoint, a training run
 * (its `checkpoint/`) and a bare ONNX export (its manifest). A folder
 * without a readable manifest is FARMER_E_NOT_FOUND / FARMER_E_CORRUPT.
 */
export async function checkpointHash(dir: string): Promise<string> {
  let folder = dir;
  try {
    folder = resolveCheckpointDir(dir);
  } catch {
    // Not a checkpoint: maybe an ONNX export, which has a manifest of its own.
  }
  const file = join(folder, 'manifest.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FarmerError('FARMER_E_NOT_FOUND', `${dir} holds no manifest.json, so it is not a (complete) checkpoint`, { file });
  }
  let files: Record<string, { sha256?: unknown }>;
  try {
    files = (JSON.parse(text) as { files: Record<string, { sha256?: unknown }> }).files;
    if (typeof files !== 'object' || files === null) throw new Error('no files');
  } catch {
    throw new FarmerError('FARMER_E_CORRUPT', `${file} is not a manifest (a JSON object with 'files')`, { file });
  }
  const lines = Object.keys(files)
    .sort()
    .map((name) => `${name} ${String(files[name]?.sha256)}`);
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** Why a worker's model cannot run a job made for `wanted`, or undefined when it can. */
export function identityMismatch(wanted: ModelIdentity, own: ModelIdentity): string | undefined {
  if (wanted.model !== own.model) return `it serves model '${own.model}', the job is for '${wanted.model}'`;
  if (wanted.checkpointHash !== own.checkpointHash) return `its checkpoint ${own.checkpointHash.slice(0, 12)} differs from the job's ${wanted.checkpointHash.slice(0, 12)}`;
  if (wanted.runtime !== own.runtime) return `it runs on ${own.runtime}, the job asks for ${wanted.runtime}`;
  return undefined;
}
