import { readdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FarmerError } from './errors.js';
import { directoryWriteProblem } from './writable-dir.js';

/**
 * What a directory writer writes (a checkpoint, an ONNX export), so that it
 * can tell an earlier output of its own, which it may replace, from anything
 * else, which it must not destroy.
 */
export interface OutputKind {
  /** The output with its article, for messages: "a 'farmer' checkpoint", "an ONNX export". */
  name: string;
  /** Whether the existing directory `dir` already holds this kind of output. Must not throw. */
  holds(dir: string): boolean;
  /** What `dir` holds when the writer recognises it as something else of its family ("a 'classifier' checkpoint"); default: its entries are listed. */
  describe?(dir: string): string | undefined;
}

/** Options of {@link checkOutputDirectory}: when an existing target may be replaced. */
export interface OutputDirectoryOptions {
  /** Replace whatever is at the target (a file, a folder of anything): its contents are deleted. */
  force?: boolean;
}

/** A few entries of `dir`, for a message: "holding 3 entries (a, b/, c)". */
function listing(dir: string, names: string[]): string {
  const shown = names.slice(0, 3).map((n) => (statSync(resolve(dir, n), { throwIfNoEntry: false })?.isDirectory() ? `${n}/` : n));
  return `a folder holding ${names.length} entr${names.length === 1 ? 'y' : 'ies'} (${shown.join(', ')}${names.length > 3 ? ', ...' : ''})`;
}

/**
 * The one rule of every directory writer (checkpoints, ONNX exports; see
 * writeDirectoryAtomic), run by the writer and by commands before they
 * spend time on the output: the parent of `target` is created if missing
 * and must take new files (else FARMER_E_BAD_INPUT, so /proc or a read-only
 * place is said up front), and `target` is replaced only when it is absent,
 * an empty folder, or already `kind` of output. A file or any other folder
 * there is a FARMER_E_OUTPUT_EXISTS saying what it holds, unless `force`.
 */
export function checkOutputDirectory(target: string, kind: OutputKind, options: OutputDirectoryOptions = {}): void {
  const abs = resolve(target);
  const parentProblem = directoryWriteProblem(dirname(abs), { create: true });
  if (parentProblem) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `cannot write ${kind.name} to ${target} (into ${dirname(abs)}): ${parentProblem}; choose another location`, { field: 'outDir', file: target });
  }
  if (options.force) return;
  const stat = statSync(abs, { throwIfNoEntry: false });
  if (!stat) return;
  let found: string;
  if (!stat.isDirectory()) found = 'a file';
  else {
    const names = readdirSync(abs).sort();
    if (!names.length || kind.holds(abs)) return;
    found = kind.describe?.(abs) ?? listing(abs, names);
  }
  throw new FarmerError(
    'FARMER_E_OUTPUT_EXISTS',
    `${target} is ${found}, not ${kind.name}; writing there would delete it. Choose another folder, or pass --force to replace it`,
    { field: 'outDir', file: target },
  );
}
