import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ensureDirectory } from './ensure-directory.js';
import { FarmerError } from './errors.js';
import { recoverInterruptedWrite } from './interrupted-writes.js';
import { checkOutputDirectory, type OutputDirectoryOptions, type OutputKind } from './output-directory.js';

/*
 * Crash-safe writes. A file or a whole directory is written under a temp
 * name beside its target (`*.tmp-<pid>-<hex>`), fsynced, and renamed into
 * place, so a reader sees the old version or the new one, never half of one.
 */

async function writeAndSync(path: string, bytes: Uint8Array | string): Promise<void> {
  const fh = await fs.open(path, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncs a directory, so the entries just created or renamed in it survive a power loss. */
async function syncDirectory(dir: string): Promise<void> {
  // Windows cannot open a directory to fsync it; NTFS journals renames itself.
  if (process.platform === 'win32') return;
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const tempTag = (): string => `${process.pid}-${randomBytes(4).toString('hex')}`;

/**
 * Writes one file atomically: temp file in the same directory, fsync,
 * rename. Missing parent folders are created ({@link ensureDirectory});
 * a folder at `path` is a FARMER_E_BAD_INPUT (a file replaces only a file).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await ensureDirectory(dirname(resolve(path)));
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `cannot write the file ${path}: a folder of that name is in the way; give a file name`, { file: path });
  }
  const tmp = `${path}.tmp-${tempTag()}`;
  try {
    await writeAndSync(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** One file of a directory written by {@link writeDirectoryAtomic}. */
export interface DirectoryFile {
  /** A plain file name, no path separators. */
  name: string;
  bytes: Uint8Array | string;
}

/** Options of {@link writeDirectoryAtomic}: the output-directory rule plus what kind of output is written. */
export interface WriteDirectoryOptions extends OutputDirectoryOptions {
  /** What is written: an existing `target` is replaced only when it holds this kind of output already (or with `force`). */
  kind: OutputKind;
  /** Called after each file is written and fsynced, with the count written so far. */
  onFile?: (name: string, done: number) => void;
}

/**
 * Writes the directory `target` atomically, for checkpoints and ONNX
 * exports. First, what crashed writers of `target` left behind is
 * recovered ({@link recoverInterruptedWrite}), then `target` is checked by
 * {@link checkOutputDirectory}: its parent must take new files, and an
 * existing `target` is replaced only when it is an empty folder or already
 * `options.kind` of output, unless `options.force`.
 * Then `files` go, in order, into a temp sibling `target.tmp-*`, each
 * fsynced; a generator may produce them one at a time, so only one file's
 * bytes need be in memory. Write the file that marks a complete folder (the
 * manifest) last. Then the temp directory is fsynced, moved into place by
 * `replaceDirectory`, and the parent directory fsynced so the renames
 * are durable. On an error the temp directory is removed and an existing
 * `target` is left as it was.
 */
export async function writeDirectoryAtomic(target: string, files: Iterable<DirectoryFile> | AsyncIterable<DirectoryFile>, options: WriteDirectoryOptions): Promise<void> {
  const abs = resolve(target);
  await recoverInterruptedWrite(abs);
  // After the recovery, which may have put an earlier output back in place.
  checkOutputDirectory(target, options.kind, options);
  const tmp = `${abs}.tmp-${tempTag()}`;
  await fs.mkdir(tmp);
  try {
    let done = 0;
    for await (const f of files) {
      if (!f.name || f.name !== basename(f.name) || f.name === '.' || f.name === '..') {
        throw new FarmerError('FARMER_E_BAD_INPUT', `'${f.name}' is not a plain file name; a directory write takes names without path separators`, { field: 'name' });
      }
      await writeAndSync(join(tmp, f.name), f.bytes);
      options.onFile?.(f.name, ++done);
    }
    await syncDirectory(tmp);
    await replaceDirectory(tmp, abs);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await syncDirectory(dirname(abs));
}

/**
 * Moves a fully written directory `tmp` into place at `target`, whatever is
 * there (writers go through {@link writeDirectoryAtomic}, which first checks
 * what it may replace): an existing `target` is moved aside to
 * `target.old-*`, `tmp` renamed, the old one removed. A crash leaves the old or the new directory (or, between the two
 * renames, the old one under `.old-*`: readers read it in place and the
 * next writer of `target` puts it back, see interrupted-writes.ts).
 */
async function replaceDirectory(tmp: string, target: string): Promise<void> {
  let old: string | undefined;
  if (existsSync(target)) {
    old = `${target}.old-${tempTag()}`;
    await fs.rename(target, old);
  }
  await fs.rename(tmp, target);
  if (old) await fs.rm(old, { recursive: true, force: true });
}
