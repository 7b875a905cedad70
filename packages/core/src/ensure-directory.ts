import { promises as fs } from 'node:fs';
import { FarmerError } from './errors.js';
import { directoryCreateProblem } from './writable-dir.js';

/**
 * Creates the directory `dir` and its missing parents (`mkdir -p`), after
 * {@link directoryCreateProblem} has found nothing in the way: a location
 * that cannot hold it (under a file, unwritable, a virtual file system such
 * as /proc) is a FARMER_E_BAD_INPUT naming it, where a bare recursive mkdir
 * would throw a raw error or, under /proc, never return.
 */
export async function ensureDirectory(dir: string): Promise<void> {
  const problem = directoryCreateProblem(dir);
  if (problem) throw new FarmerError('FARMER_E_BAD_INPUT', `cannot create the folder ${dir}: ${problem}; choose another location`, { file: dir });
  await fs.mkdir(dir, { recursive: true });
}
