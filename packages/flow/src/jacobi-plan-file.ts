import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FarmerError, writeFileAtomic } from '@farmer/core';
import { JACOBI_PLAN_FILE, parseJacobiPlanFile, type JacobiPlanFile } from './jacobi-calibration.js';

/** The Jacobi plan beside a checkpoint (docs/method.md §3.13 Jacobi decoding), or undefined when it has none; FARMER_E_CORRUPT when it is not a valid one for `numBlocks` blocks. */
export async function readJacobiPlanFile(checkpointDir: string, numBlocks: number): Promise<JacobiPlanFile | undefined> {
  const path = join(checkpointDir, JACOBI_PLAN_FILE);
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new FarmerError('FARMER_E_CORRUPT', `cannot read ${path}: ${e.message}`, { file: path });
  });
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new FarmerError('FARMER_E_CORRUPT', `${path} is not valid JSON; measure it again with \`farmer eval jacobi --write\``, { file: path });
  }
  return parseJacobiPlanFile(raw, numBlocks, path);
}

/** Writes a Jacobi plan beside a checkpoint, atomically (a crash leaves the old file or the new one). Returns its path. */
export async function writeJacobiPlanFile(checkpointDir: string, plan: JacobiPlanFile): Promise<string> {
  const path = join(checkpointDir, JACOBI_PLAN_FILE);
  await writeFileAtomic(path, `${JSON.stringify(plan, null, 2)}\n`);
  return path;
}
