// The PyTorch side of the train benchmark: finds a python3 that imports torch, writes
// the files bench/torch/farmer_torch.py reads (a farmer checkpoint and a batch), runs it
// and parses its JSON. Research-style on purpose, as the rest of bench/.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encodeSafetensors, f32 } from '@farmer/core';
import { saveFarmer } from '@farmer/ar-gmm';

const run = promisify(execFile);
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'farmer_torch.py');
export const TORCH_INSTALL_HINT = 'apt-get install -y python3-torch libopenblas0-pthread';

/**
 * The first interpreter that can `import torch`: $FARMER_BENCH_PYTHON, then `python3`
 * on PATH, then Debian's /usr/bin/python3 (a pyenv or venv python3 earlier on PATH does
 * not see Debian's dist-packages). Returns { python, version } or { reason }.
 */
export async function findTorchPython() {
  const candidates = [process.env.FARMER_BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
  const tried = [];
  for (const python of [...new Set(candidates)]) {
    try {
      const { stdout } = await run(python, ['-c', 'import torch; print(torch.__version__)'], { timeout: 60_000 });
      return { python, version: stdout.trim() };
    } catch (e) {
      tried.push(`${python}: ${e.code === 'ENOENT' ? 'not found' : 'cannot import torch'}`);
    }
  }
  return { reason: `PyTorch is not installed (${tried.join('; ')}). On Debian: ${TORCH_INSTALL_HINT}` };
}

/** Writes a prepared batch (noisy NCHW values, labels with -1 = null) as the script's batch file. */
export async function writeBatchFile(path, batch) {
  const labels = { dtype: 'I32', shape: [batch.labels.length], data: Int32Array.from(batch.labels) };
  await fs.writeFile(path, encodeSafetensors({ images: f32(Float32Array.from(batch.values), [...batch.shape]), labels }));
}

/** Writes the model as a farmer checkpoint and the batch into `dir`; returns both paths. */
export async function writeTorchInputs(dir, model, batch) {
  const checkpoint = join(dir, 'checkpoint');
  const batchFile = join(dir, 'batch.safetensors');
  await saveFarmer(checkpoint, model);
  await writeBatchFile(batchFile, batch);
  return { checkpoint, batchFile };
}

/** Runs farmer_torch.py `mode` with `--flag value` options; returns its JSON output. */
export async function runTorchScript(python, mode, options) {
  const args = [SCRIPT, mode, ...Object.entries(options).flatMap(([k, v]) => [`--${k}`, String(v)])];
  const { stdout } = await run(python, args, { timeout: 30 * 60_000, maxBuffer: 16 << 20 });
  return JSON.parse(stdout);
}
