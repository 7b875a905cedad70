import type { OrtBinding, WebProviderName } from '@farmer/onnx/web';
import { PageError } from './page-error.js';

/** What the user asks for: the best provider available, or one. */
export type ProviderRequest = 'auto' | WebProviderName;
export const PROVIDER_REQUESTS: readonly ProviderRequest[] = ['auto', 'webgpu', 'wasm'];

/** onnxruntime-web, set up for this page. */
export interface OrtSetup {
  ort: OrtBinding;
  /** Providers to try, best first. */
  providers: WebProviderName[];
  /** wasm threads (1 without cross-origin isolation). */
  threads: number;
  /** One-line notices for the page (a thread fallback, a missing GPU). */
  notices: string[];
}

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)): valid only where wasm SIMD is.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** Whether this browser runs WebAssembly SIMD, which every onnxruntime-web 1.30 build needs. */
export function hasWasmSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

type GpuNavigator = Navigator & { gpu?: { requestAdapter(): Promise<unknown> } };

/** Whether WebGPU gives an adapter here (headless Chromium without a GPU does not). */
export async function webGpuAdapter(): Promise<{ available: boolean; reason?: string }> {
  const gpu = (navigator as GpuNavigator).gpu;
  if (!gpu) return { available: false, reason: 'this browser has no WebGPU' };
  try {
    return (await gpu.requestAdapter()) ? { available: true } : { available: false, reason: 'WebGPU found no GPU adapter' };
  } catch (e) {
    return { available: false, reason: `WebGPU failed: ${(e as Error).message}` };
  }
}

/**
 * Loads onnxruntime-web for a request: its WebGPU build (WebGPU and wasm
 * providers) when WebGPU is asked for or 'auto' finds an adapter, else its
 * smaller wasm-only build. Threads need cross-origin isolation (COOP/COEP);
 * without it the wasm runs on one thread and a notice says so.
 */
export async function setUpOrt(request: ProviderRequest): Promise<OrtSetup> {
  if (!hasWasmSimd()) {
    throw new PageError('FARMER_E_BACKEND', 'this browser has no WebAssembly SIMD, which onnxruntime-web needs: use a current Chrome, Edge, Firefox or Safari (or enable WebAssembly SIMD)');
  }
  const notices: string[] = [];
  let webgpu = false;
  if (request !== 'wasm') {
    const adapter = await webGpuAdapter();
    if (!adapter.available && request === 'webgpu') throw new PageError('FARMER_E_BACKEND', `WebGPU was asked for but is unavailable: ${adapter.reason}; choose wasm or auto`);
    if (!adapter.available) notices.push(`wasm, not WebGPU: ${adapter.reason}`);
    webgpu = adapter.available;
  }
  const mod = webgpu ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm');
  const isolated = globalThis.crossOriginIsolated === true;
  const threads = isolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
  if (!isolated) notices.push('one wasm thread: this host does not send the cross-origin isolation headers (COOP/COEP) that threads need; `farmer serve` and `npm run playground` do');
  mod.env.wasm.numThreads = threads;
  mod.env.logLevel = 'error';
  return { ort: mod, providers: webgpu ? ['webgpu', 'wasm'] : ['wasm'], threads, notices };
}
