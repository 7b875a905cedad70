import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { writeDirectoryAtomic, type DirectoryFile } from './atomic-write.js';
import type { OutputDirectoryOptions, OutputKind } from './output-directory.js';
import { readableDirectory } from './interrupted-writes.js';
import { FarmerError } from './errors.js';
import { fileSizeError } from './file-size-error.js';
import { ownValue } from './own-key.js';
import { decodeSafetensors, encodeSafetensors, type TensorMap } from './safetensors.js';
import { ManifestFileSchema, validate, type ManifestFile } from './validate.js';

/**
 * The checkpoint format every farmer package, the CLI and the server share:
 * a directory holding
 * - `config.json`: versioned, validated on load (model config + training metadata);
 * - `model.safetensors`: weights named as in docs/method.md §9.2 weight names,
 *   Linear weights [out, in];
 * - optional `<part>.safetensors` (optimizer, ema, student, ...);
 * - `manifest.json`: SHA-256 and size of every other file.
 */
export const CHECKPOINT_FORMAT = 'farmer-checkpoint';
/** Version of the checkpoint format this code writes; a newer one is refused with FARMER_E_VERSION. */
export const CHECKPOINT_VERSION = 1;
/** What to do about a checkpoint file that is missing or of the wrong size. */
export const RESTORE_CHECKPOINT_FILE = 'restore it from a good copy of the checkpoint';

/** zod schema of a checkpoint's `config.json`: format, version, model kind and config, optional training state and provenance, creation time. */
export const CheckpointConfigSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  formatVersion: z.number().int().positive(),
  /** What the weights are: 'farmer' (AF + AR-GMM), 'flow' (AF only), ... */
  kind: z.string().min(1),
  /** The model's own config, validated by the package that owns the kind. */
  model: z.record(z.string(), z.unknown()),
  /** Training state and provenance (step, RNG, data order, metrics). */
  training: z.record(z.string(), z.unknown()).optional(),
  /** Free-form provenance: creator, command, source checkpoint. */
  meta: z.record(z.string(), z.unknown()).optional(),
  createdAt: z.string(),
});
/** A checkpoint's `config.json`, as validated by {@link CheckpointConfigSchema} (docs/method.md §9.1 checkpoint directory). */
export type CheckpointConfig = z.infer<typeof CheckpointConfigSchema>;


const ManifestSchema = z.object({
  formatVersion: z.number().int(),
  files: z.record(z.string(), ManifestFileSchema),
});
/** A checkpoint's `manifest.json`: format, version, and the SHA-256 and size of every other file. */
export type CheckpointManifest = z.infer<typeof ManifestSchema>;

/** Everything a checkpoint holds. `tensors.model` is required. */
export interface CheckpointData {
  config: CheckpointConfig;
  /** Part name → tensors; each part is written to `<part>.safetensors`. */
  tensors: { model: TensorMap } & Record<string, TensorMap>;
}

const PART_RE = /^[a-z][a-z0-9_-]*$/;

/** Builds a config with the format fields filled in. */
export function makeCheckpointConfig(kind: string, model: Record<string, unknown>, extra: Partial<Pick<CheckpointConfig, 'training' | 'meta'>> = {}): CheckpointConfig {
  return { format: CHECKPOINT_FORMAT, formatVersion: CHECKPOINT_VERSION, kind, model, ...extra, createdAt: new Date().toISOString() };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The manifest entry of a file's bytes. */
export function manifestEntry(bytes: Uint8Array): ManifestFile {
  return { sha256: sha256(bytes), bytes: bytes.length };
}

/** The `kind` in `dir/config.json` when it is a farmer checkpoint's, else undefined. */
function checkpointKindAt(dir: string): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { format?: unknown; kind?: unknown };
    return config.format === CHECKPOINT_FORMAT && typeof config.kind === 'string' ? config.kind : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checkpoints as an output of the directory writer: a checkpoint of `kind`
 * ('farmer', 'flow', 'classifier', ...) replaces only a checkpoint of the
 * same kind, recognised by its config.json; without `kind`, any checkpoint.
 */
export function checkpointOutput(kind?: string): OutputKind {
  return {
    name: kind ? `a '${kind}' checkpoint` : 'a checkpoint',
    holds: (dir) => {
      const found = checkpointKindAt(dir);
      return found !== undefined && (kind === undefined || found === kind);
    },
    describe: (dir) => {
      const found = checkpointKindAt(dir);
      return found === undefined ? undefined : `a '${found}' checkpoint`;
    },
  };
}

/**
 * Writes a checkpoint directory atomically ({@link writeDirectoryAtomic}):
 * a crash leaves either the old or the new checkpoint (or, between the two
 * renames, the old one under `.old-*`, which `readCheckpoint` reads in place
 * and the next write puts back). An existing `dir` is replaced only when it
 * is empty or a checkpoint of the same kind ({@link checkpointOutput}),
 * unless `options.force`; else FARMER_E_OUTPUT_EXISTS.
 */
export async function writeCheckpoint(dir: string, data: CheckpointData, options: OutputDirectoryOptions = {}): Promise<void> {
  const config = CheckpointConfigSchema.parse(data.config);
  if (!data.tensors.model) throw new FarmerError('FARMER_E_BAD_INPUT', 'a checkpoint needs model tensors');
  await writeDirectoryAtomic(dir, checkpointFiles(config, data.tensors), { kind: checkpointOutput(config.kind), force: options.force });
}

/** A checkpoint's files in write order, the manifest last; each part is encoded only when its turn comes. */
function* checkpointFiles(config: CheckpointConfig, tensors: CheckpointData['tensors']): Generator<DirectoryFile> {
  const manifest: CheckpointManifest = { formatVersion: CHECKPOINT_VERSION, files: {} };
  const file = (name: string, bytes: Uint8Array): DirectoryFile => {
    manifest.files[name] = manifestEntry(bytes);
    return { name, bytes };
  };
  yield file('config.json', new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`));
  for (const [part, map] of Object.entries(tensors)) {
    if (!PART_RE.test(part)) throw new FarmerError('FARMER_E_BAD_INPUT', `checkpoint part name '${part}' must match ${PART_RE}`);
    yield file(`${part}.safetensors`, encodeSafetensors(map, { format: 'pt' }));
  }
  yield { name: 'manifest.json', bytes: `${JSON.stringify(manifest, null, 2)}\n` };
}

/** Options of {@link readManifest}: which format of `manifest.json` to expect and how to validate it. */
export interface ReadManifestOptions<T> {
  /** The format the manifest must have, e.g. an ONNX export's (the checkpoint's when no options are given). */
  schema: z.ZodType<T>;
  /** What the folder should be, for the error when it has no manifest (default 'checkpoint'). */
  what?: string;
  /** How to repair a missing or unreadable manifest, appended to those errors. */
  fix?: string;
}

/**
 * Reads and validates `dir/manifest.json`: a checkpoint's (with its format
 * version checked), or another folder format's given its schema. Errors
 * name the file: no manifest → FARMER_E_NOT_FOUND; not JSON or not the
 * schema → FARMER_E_CORRUPT; a checkpoint manifest of a newer format →
 * FARMER_E_VERSION.
 */
export async function readManifest(dir: string): Promise<CheckpointManifest>;
export async function readManifest<T>(dir: string, options: ReadManifestOptions<T>): Promise<T>;
export async function readManifest<T>(dir: string, options?: ReadManifestOptions<T>): Promise<T | CheckpointManifest> {
  const file = join(dir, 'manifest.json');
  const fix = options?.fix ? `; ${options.fix}` : '';
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(resolve(file)));
  } catch {
    throw new FarmerError('FARMER_E_NOT_FOUND', `${dir} holds no manifest.json, so it is not a (complete) ${options?.what ?? 'checkpoint'}${fix}`, { file });
  }
  if (options) return parseJson(bytes, file, options.schema, fix);
  const manifest = parseJson(bytes, file, ManifestSchema);
  if (manifest.formatVersion > CHECKPOINT_VERSION) throw tooNew(file, manifest.formatVersion);
  return manifest;
}

/** Options of {@link readCheckpoint}. */
export interface ReadCheckpointOptions {
  /** Which tensor parts to load (default: every `*.safetensors` in the manifest). */
  parts?: string[];
  /** Verify SHA-256 checksums against the manifest (default true). */
  verify?: boolean;
}

/** A checkpoint read by {@link readCheckpoint}: its folder, validated config and manifest, and the tensor parts loaded (part name → tensors). */
export interface LoadedCheckpoint {
  dir: string;
  config: CheckpointConfig;
  manifest: CheckpointManifest;
  tensors: Record<string, TensorMap>;
  /** Tensor parts present in the checkpoint, loaded or not. */
  parts: string[];
}

/**
 * Reads and validates a checkpoint directory. Errors name the file (and the
 * tensor) at fault: a missing directory or file, a checksum mismatch, a
 * truncated or corrupt safetensors file, an invalid or too-new config.json.
 * When only the `.old-*` copy of an interrupted write is there, it is read
 * in place (`dir` of the result says where); nothing is moved.
 */
export async function readCheckpoint(dir: string, options: ReadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const target = resolve(dir);
  const found = readableDirectory(target) ?? target;
  if (found === target) return readCheckpointAt(dir, target, options);
  try {
    return await readCheckpointAt(found, found, options);
  } catch (e) {
    // A live writer may finish its renames (and delete the copy) while we read: then read the new one.
    if (e instanceof FarmerError && e.code === 'FARMER_E_NOT_FOUND' && existsSync(target)) return readCheckpointAt(dir, target, options);
    throw e;
  }
}

async function readCheckpointAt(dir: string, target: string, options: ReadCheckpointOptions): Promise<LoadedCheckpoint> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (!stat) throw new FarmerError('FARMER_E_NOT_FOUND', `checkpoint directory ${dir} does not exist; pass the directory that holds config.json and model.safetensors`, { file: dir });
  if (!stat.isDirectory()) throw new FarmerError('FARMER_E_BAD_INPUT', `${dir} is a file; a checkpoint is a directory holding config.json and model.safetensors`, { file: dir });
  const readFile = async (name: string): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await fs.readFile(join(target, name)));
    } catch {
      throw new FarmerError('FARMER_E_NOT_FOUND', `checkpoint ${dir} is missing ${name}`, { file: join(dir, name) });
    }
  };
  const manifestPath = join(dir, 'manifest.json');
  const manifest = await readManifest(dir);
  const verify = options.verify !== false;
  const checked = async (name: string): Promise<Uint8Array> => {
    const entry = ownValue(manifest.files, name);
    if (!entry) throw new FarmerError('FARMER_E_CORRUPT', `${manifestPath} does not list ${name}`, { file: manifestPath });
    const bytes = await readFile(name);
    if (verify && bytes.length !== entry.bytes) throw fileSizeError(join(dir, name), bytes.length, entry.bytes, RESTORE_CHECKPOINT_FILE);
    if (verify && sha256(bytes) !== entry.sha256) {
      throw new FarmerError('FARMER_E_CORRUPT', `${join(dir, name)} fails its SHA-256 check (corrupted); restore it or re-export the checkpoint`, { file: join(dir, name) });
    }
    return bytes;
  };
  const configPath = join(dir, 'config.json');
  const configJson = parseJson(await checked('config.json'), configPath, z.record(z.string(), z.unknown()));
  if (typeof configJson.formatVersion === 'number' && configJson.formatVersion > CHECKPOINT_VERSION) throw tooNew(configPath, configJson.formatVersion);
  const config = validate(configJson, configPath, CheckpointConfigSchema);
  const parts = Object.keys(manifest.files).filter((f) => f.endsWith('.safetensors')).map((f) => f.slice(0, -'.safetensors'.length));
  if (!parts.includes('model')) throw new FarmerError('FARMER_E_CORRUPT', `${manifestPath} lists no model.safetensors`, { file: manifestPath });
  const wanted = options.parts ?? parts;
  const loaded: [string, TensorMap][] = [];
  for (const part of wanted) {
    if (!parts.includes(part)) continue;
    const name = `${part}.safetensors`;
    loaded.push([part, decodeSafetensors(await checked(name), join(dir, name)).tensors]);
  }
  // Part names come from the manifest: entries of their own, whatever they are called.
  return { dir: target, config, manifest, tensors: Object.fromEntries(loaded), parts };
}

function tooNew(file: string, v: number): FarmerError {
  return new FarmerError(
    'FARMER_E_VERSION',
    `${file} has format version ${v}; this farmer-ts reads version ${CHECKPOINT_VERSION}. Upgrade farmer-ts to load it.`,
    { file },
  );
}

function parseJson<T>(bytes: Uint8Array, file: string, schema: z.ZodType<T>, fix = ''): T {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FarmerError('FARMER_E_CORRUPT', `${file} is not valid JSON (${(e as Error).message})${fix}`, { file });
  }
  return validate(value, file, schema);
}


/**
 * Checks a loaded tensor map against expected shapes: every expected tensor
 * is present with the right shape and no unexpected one is there. Errors
 * name the file and the tensor.
 */
export function checkTensorShapes(tensors: TensorMap, expected: Record<string, number[]>, file: string, options: { allowExtra?: boolean } = {}): void {
  for (const [name, shape] of Object.entries(expected)) {
    const t = ownValue(tensors, name);
    if (!t) throw new FarmerError('FARMER_E_SHAPE', `${file}: missing tensor '${name}' (expected shape [${shape}])`, { file, tensor: name });
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new FarmerError('FARMER_E_SHAPE', `${file}: tensor '${name}' has shape [${t.shape}], the config needs [${shape}]`, { file, tensor: name });
    }
  }
  if (!options.allowExtra) {
    const extra = Object.keys(tensors).filter((k) => !Object.hasOwn(expected, k));
    if (extra.length) {
      throw new FarmerError('FARMER_E_SHAPE', `${file}: unexpected tensor${extra.length > 1 ? 's' : ''} ${extra.slice(0, 5).map((e) => `'${e}'`).join(', ')}${extra.length > 5 ? ', ...' : ''} (does the checkpoint match this model config?)`, { file, tensor: extra[0] });
    }
  }
}
