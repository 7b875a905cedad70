import { FarmerError } from '@farmer/core/browser';
import { checkExportFile, parseExportManifest } from '../export-manifest.js';
import type { GraphEntry } from '../manifest.js';
import type { OrtExportSource } from '../ort/ort-runner.js';

/** A file the user picked (a browser `File`, or any Blob with a name). */
export interface PickedFile {
  readonly name: string;
  readonly size: number;
  /** The file's bytes. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * Where a page reads an export from: a folder URL (absolute, ending in
 * '/'; `headers` go with every request, e.g. an API key) or the files of an
 * export folder that the user picked.
 */
export type ExportLocation = { url: string; headers?: Record<string, string> } | { files: readonly PickedFile[] };

/** An export read into memory and verified, ready for `loadWebRunner`. */
export interface WebExport extends OrtExportSource {
  /** Every file of the manifest, by name. */
  bytes: ReadonlyMap<string, Uint8Array>;
  /** Their total size. */
  totalBytes: number;
  /** False when the browser has no WebCrypto here (an insecure origin): sizes were checked, SHA-256 values were not. */
  hashed: boolean;
}

/** Options of {@link readWebExport}. */
export interface ReadWebExportOptions {
  /** Check every file's size and SHA-256 against the manifest (default true). */
  verify?: boolean;
  /** Called after each file with the bytes read so far. */
  onProgress?: (p: { file: string; bytesDone: number; bytesTotal: number }) => void;
}

type Digest = { subtle?: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> } };

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await (globalThis.crypto as Digest).subtle!.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function fetchBytes(url: string, headers: Record<string, string> | undefined, what: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch (e) {
    throw new FarmerError('FARMER_E_NOT_FOUND', `could not fetch ${url} (${(e as Error).message}); check the URL, and that its server allows this page (CORS)`, { file: url }, { cause: e });
  }
  if (res.status === 401) throw new FarmerError('FARMER_E_BAD_INPUT', `${url} needs an API key (HTTP 401); enter the server's key`, { file: url, field: 'apiKey' });
  if (!res.ok) throw new FarmerError('FARMER_E_NOT_FOUND', `${url} answered HTTP ${res.status}: ${what}`, { file: url, status: res.status });
  return new Uint8Array(await res.arrayBuffer());
}

function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new FarmerError('FARMER_E_CORRUPT', `${where} is not valid JSON (${(e as Error).message}); re-run \`farmer export onnx\``, { file: where }, { cause: e });
  }
}

/**
 * Reads an ONNX export in a browser, from a URL or picked files, and checks
 * it as `readOnnxExport` does on disk: the manifest (`parseExportManifest`),
 * then every file's presence, size and SHA-256 (WebCrypto). Errors are
 * FarmerErrors naming the file: no manifest or a missing file →
 * FARMER_E_NOT_FOUND; bad JSON, a bad manifest, a wrong size or checksum →
 * FARMER_E_CORRUPT; a newer layout → FARMER_E_VERSION.
 */
export async function readWebExport(from: ExportLocation, options: ReadWebExportOptions = {}): Promise<WebExport> {
  const picked = 'files' in from ? new Map(from.files.map((f) => [f.name, f])) : undefined;
  const base = 'url' in from ? (from.url.endsWith('/') ? from.url : `${from.url}/`) : undefined;
  const location = base ?? 'the chosen files';
  const where = (name: string) => (base ? new URL(name, base).href : name);
  const read = async (name: string, what: string): Promise<Uint8Array> => {
    if (base) return fetchBytes(where(name), 'headers' in from ? from.headers : undefined, what);
    const f = picked!.get(name);
    if (!f) throw new FarmerError('FARMER_E_NOT_FOUND', `${what} (pick every file of the export folder)`, { file: name });
    return new Uint8Array(await f.arrayBuffer());
  };
  const raw = parseJson(await read('manifest.json', `${location} holds no manifest.json, so it is not an ONNX export; write one with \`farmer export onnx\``), where('manifest.json'));
  const { manifest, config } = parseExportManifest(raw, where('manifest.json'));
  const hashed = options.verify !== false && typeof (globalThis.crypto as Digest | undefined)?.subtle?.digest === 'function';
  const bytes = new Map<string, Uint8Array>();
  const bytesTotal = Object.values(manifest.files).reduce((a, f) => a + f.bytes, 0);
  let bytesDone = 0;
  for (const [name, want] of Object.entries(manifest.files)) {
    const data = await read(name, `ONNX export ${location} is missing ${name}; re-run \`farmer export onnx\``);
    if (options.verify !== false) await checkExportFile(where(name), want, data.length, hashed ? () => sha256Hex(data) : async () => want.sha256);
    bytes.set(name, data);
    bytesDone += data.length;
    options.onProgress?.({ file: name, bytesDone, bytesTotal });
  }
  return { location, manifest, config, bytes, totalBytes: bytesDone, hashed, graph: (entry) => graphModel(bytes, entry, where) };
}

/** A graph's bytes with its weights file as external data, as onnxruntime-web takes them. */
function graphModel(bytes: ReadonlyMap<string, Uint8Array>, entry: GraphEntry, where: (name: string) => string) {
  return { location: where(entry.file), model: bytes.get(entry.file)!, externalData: [{ path: entry.weights, data: bytes.get(entry.weights)! }] };
}

