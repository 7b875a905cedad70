import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { RESTORE_CHECKPOINT_FILE, type CheckpointManifest } from './checkpoint.js';
import { FarmerError } from './errors.js';
import { fileSizeError } from './file-size-error.js';
import { ownValue } from './own-key.js';

/**
 * Checks that the checkpoint files `names` (default: every file of the
 * manifest) have the sizes its manifest records, with one `stat` each and
 * without reading them: the cheap check for a reader that trusts something
 * made from those files (an ONNX export) instead of hashing them. A missing
 * file → FARMER_E_NOT_FOUND, a name the manifest lacks or a wrong size →
 * FARMER_E_CORRUPT, each naming the file. `dir` is the checkpoint folder.
 */
export async function checkCheckpointFileSizes(dir: string, manifest: CheckpointManifest, names: readonly string[] = Object.keys(manifest.files)): Promise<void> {
  for (const name of names) {
    const entry = ownValue(manifest.files, name);
    if (!entry) throw new FarmerError('FARMER_E_CORRUPT', `${join(dir, 'manifest.json')} does not list ${name}`, { file: join(dir, 'manifest.json') });
    const path = join(dir, name);
    const stat = await fs.stat(path).catch(() => undefined);
    if (!stat?.isFile()) throw new FarmerError('FARMER_E_NOT_FOUND', `checkpoint ${dir} is missing ${name}; ${RESTORE_CHECKPOINT_FILE}`, { file: path });
    if (stat.size !== entry.bytes) throw fileSizeError(path, stat.size, entry.bytes, RESTORE_CHECKPOINT_FILE);
  }
}
