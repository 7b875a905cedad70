import { loadWebRunner, readWebExport, type ExportLocation, type OrtRunner, type PickedFile, type WebProviderName } from '@farmer/onnx/web';
import { builtinExportPath, builtinOf } from './builtin-models.js';
import { setUpOrt, type ProviderRequest } from './ort-web.js';
import { PageError } from './page-error.js';

/** A loaded model and what it took. */
export interface LoadedModel {
  runner: OrtRunner<WebProviderName>;
  /** Where it came from, for the page. */
  label: string;
  /** Seconds spent fetching and verifying the files, and creating the sessions. */
  timings: { fetchSeconds: number; sessionSeconds: number };
  bytes: number;
  threads: number;
  notices: string[];
}

/** The served models with an export (GET ../v1/onnx of `farmer serve`), or null when the page is not served by it. */
export async function servedModels(apiKey: string): Promise<{ names: string[]; needsKey: boolean } | null> {
  let res: Response;
  try {
    res = await fetch(new URL('../v1/onnx', document.baseURI), { headers: authHeaders(apiKey) });
  } catch {
    return null;
  }
  if (res.status === 401) return { names: [], needsKey: true };
  if (!res.ok || !(res.headers.get('content-type') ?? '').includes('json')) return null;
  const body = (await res.json()) as { models?: { name: string }[] };
  return { names: (body.models ?? []).map((m) => m.name), needsKey: false };
}

export function authHeaders(apiKey: string): Record<string, string> | undefined {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : undefined;
}

/** The export location of a model setting ('builtin', 'builtin:NAME', 'served:NAME', 'url:URL'), or the picked files. */
export function exportLocation(model: string, apiKey: string, files: readonly PickedFile[] | null): { from: ExportLocation; label: string } {
  const builtin = builtinOf(model);
  if (builtin) return { from: { url: new URL(builtinExportPath(builtin), document.baseURI).href }, label: `the built-in ${builtin}` };
  if (model.startsWith('served:')) {
    const name = model.slice('served:'.length);
    return { from: { url: new URL(`../v1/models/${encodeURIComponent(name)}/onnx/`, document.baseURI).href, headers: authHeaders(apiKey) }, label: `served model ${name}` };
  }
  if (model.startsWith('url:')) {
    const raw = model.slice('url:'.length);
    let url: URL;
    try {
      url = new URL(raw, document.baseURI);
    } catch {
      throw new PageError('FARMER_E_BAD_INPUT', `model URL '${raw}' is not a URL; give the folder of an export (the one holding manifest.json)`);
    }
    return { from: { url: url.href }, label: url.href };
  }
  if (model === 'files') {
    if (!files?.length) throw new PageError('FARMER_E_BAD_INPUT', 'pick the files of an export folder (manifest.json, the .onnx graphs and their weights)');
    return { from: { files }, label: `${files.length} picked files` };
  }
  throw new PageError('FARMER_E_BAD_INPUT', `unknown model '${model}'`);
}

/**
 * Loads a model: onnxruntime-web for the provider request, then the export
 * (fetched or picked, every file checked against the manifest), then its
 * sessions. `onStatus` gets one line per stage.
 */
export async function loadModel(location: { from: ExportLocation; label: string }, provider: ProviderRequest, onStatus: (line: string) => void): Promise<LoadedModel> {
  onStatus('starting onnxruntime-web…');
  const setup = await setUpOrt(provider);
  const t0 = performance.now();
  const source = await readWebExport(location.from, {
    onProgress: (p) => onStatus(`reading ${location.label}: ${(p.bytesDone / 1e6).toFixed(1)} of ${(p.bytesTotal / 1e6).toFixed(1)} MB`),
  });
  const t1 = performance.now();
  onStatus('creating the onnxruntime sessions…');
  const runner = await loadWebRunner(setup.ort, source, { providers: setup.providers });
  const t2 = performance.now();
  const notices = [...setup.notices, ...runner.executionProvider.skipped.map((s) => `skipped ${s.name}: ${s.reason}`)];
  if (!source.hashed) notices.push('file sizes were checked but not their SHA-256 (this origin has no WebCrypto: serve the page over https or from localhost)');
  return { runner, label: location.label, timings: { fetchSeconds: (t1 - t0) / 1000, sessionSeconds: (t2 - t1) / 1000 }, bytes: source.totalBytes, threads: setup.threads, notices };
}
