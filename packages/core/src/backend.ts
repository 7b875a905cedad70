import { FarmerError } from './errors.js';
import { isFastBatchMatMulGradActive, registerFastBatchMatMulGrad, restoreBuiltinBatchMatMulGrad } from './batch-matmul-grad.js';
import { tf } from './tf.js';

/** Backends farmer-ts knows how to bring up, best first. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
/** Every {@link BackendName}, best first: the order `initBackend` tries them in. */
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** A candidate backend: `load` makes it available to tf, or throws why not. */
interface BackendCandidate {
  name: BackendName;
  priority: number;
  load: () => Promise<string>;
}

/** Loads the first native package present; tfjs-node registers 'tensorflow' on import. */
async function loadTensorflow(): Promise<string> {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* @vite-ignore */ pkg);
      if (tf.findBackend('tensorflow') || tf.findBackendFactory('tensorflow')) return pkg;
      reasons.push(`${pkg} loaded but registered no 'tensorflow' backend (is its @tensorflow/tfjs-core the same version as @tensorflow/tfjs?)`);
    } catch (e) {
      reasons.push(`${pkg}: ${describeImportError(e)}`);
    }
  }
  throw new Error(reasons.join('; '));
}

async function loadWasm(): Promise<string> {
  await import('@tensorflow/tfjs-backend-wasm');
  return '@tensorflow/tfjs-backend-wasm';
}

async function loadCpu(): Promise<string> {
  return '@tensorflow/tfjs (cpu)';
}

function describeImportError(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/Cannot find (module|package)|ERR_MODULE_NOT_FOUND|Could not resolve|Failed to load url/.test(msg)) return 'not installed';
  return msg.split('\n')[0];
}

const registry: BackendCandidate[] = [
  { name: 'tensorflow', priority: 3, load: loadTensorflow },
  { name: 'wasm', priority: 2, load: loadWasm },
  { name: 'cpu', priority: 1, load: loadCpu },
];

/** What `initBackend` chose and why. */
export interface BackendInfo {
  /** The active tfjs backend. */
  name: BackendName;
  /** The package that provided it. */
  source: string;
  /** What was asked for: a backend name, or 'auto'. */
  requested: BackendName | 'auto';
  /** True if gradient functions are registered (training works). */
  gradients: boolean;
  /** True if the explicit-transpose BatchMatMul gradient is active (wasm). */
  fastMatMulGrad: boolean;
  /** Better backends that were skipped, each with the reason. */
  skipped: { name: BackendName; reason: string }[];
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** Force a backend; default: env FARMER_BACKEND, else 'auto' (best available). */
  backend?: BackendName | 'auto';
  /** Register the fast BatchMatMul gradient on wasm (default true). */
  fastMatMulGrad?: boolean;
}

let current: BackendInfo | undefined;

/** The backend chosen by the last `initBackend`, if any. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

function parseRequested(v: string | undefined): BackendName | 'auto' {
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendName;
  throw new FarmerError(
    'FARMER_E_BACKEND',
    `Unknown backend '${v}'. Use one of: auto, ${BACKEND_NAMES.join(', ')} (option 'backend' or env FARMER_BACKEND).`,
    { requested: v },
  );
}

/**
 * Picks and activates the best available TensorFlow.js backend: `tensorflow`
 * (tfjs-node-gpu, else tfjs-node), then `wasm`, then `cpu`. The env variable
 * FARMER_BACKEND or `options.backend` forces one; a forced backend that cannot
 * load is an error listing why. Safe to call repeatedly.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const requested = parseRequested(options.backend ?? process.env.FARMER_BACKEND);
  const candidates = [...registry]
    .sort((a, b) => b.priority - a.priority)
    .filter((c) => requested === 'auto' || c.name === requested);
  const skipped: { name: BackendName; reason: string }[] = [];
  for (const c of candidates) {
    try {
      const source = await c.load();
      const ok = await tf.setBackend(c.name);
      if (!ok) throw new Error(`tf.setBackend('${c.name}') failed`);
      await tf.ready();
      // Gradients are global, not per backend: only wasm profits from the explicit transposes.
      if (c.name === 'wasm' && options.fastMatMulGrad !== false) registerFastBatchMatMulGrad();
      else restoreBuiltinBatchMatMulGrad();
      current = {
        name: c.name,
        source,
        requested,
        gradients: tf.getGradient('RealDiv') !== undefined,
        fastMatMulGrad: isFastBatchMatMulGradActive(),
        skipped,
      };
      return current;
    } catch (e) {
      skipped.push({ name: c.name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  const detail = skipped.map((s) => `  - ${s.name}: ${s.reason}`).join('\n');
  const hint =
    requested === 'tensorflow'
      ? '\nInstall @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA) next to farmer-ts, or choose FARMER_BACKEND=wasm.'
      : '';
  throw new FarmerError('FARMER_E_BACKEND', `No usable TensorFlow.js backend (${requested}):\n${detail}${hint}`, {
    requested,
    skipped,
  });
}

/** One-line description of the active backend, for logs and `farmer inspect`. */
export function describeBackend(info: BackendInfo): string {
  const parts = [`backend ${info.name} (${info.source})`, info.gradients ? 'gradients registered' : 'NO gradients'];
  if (info.fastMatMulGrad) parts.push('fast BatchMatMul gradient');
  if (info.skipped.length) parts.push(`skipped ${info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
  return parts.join(', ');
}
