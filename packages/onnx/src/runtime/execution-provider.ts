import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FarmerError, ORT_NODE_VERSION } from '@farmer/core';
import * as ort from 'onnxruntime-node';
import type { ProviderChoice } from '../ort/ort-runner.js';

/** Execution providers farmer-ts uses, best first. */
export type ExecutionProviderName = 'cuda' | 'cpu';
/** Every {@link ExecutionProviderName}, best first. */
export const EXECUTION_PROVIDERS: readonly ExecutionProviderName[] = ['cuda', 'cpu'];
/** An execution provider to require, or `auto`: CUDA when it is installed and starts, else the CPU. */
export type ExecutionProviderRequest = ExecutionProviderName | 'auto';

/** What was chosen and why: reported by the CLI and the server. */
export type ExecutionProviderInfo = ProviderChoice<ExecutionProviderName>;

/** How to get the CUDA provider (documented in the README too). */
export const CUDA_INSTALL_HINT =
  `install onnxruntime-node with its CUDA 12 provider: \`ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node@${ORT_NODE_VERSION}\` ` +
  '(or `--onnxruntime-node-install=cuda12`; needs CUDA 12 and cuDNN 9 on the library path)';

/** The folder of the native binding, where provider libraries sit. */
function bindingDir(): string {
  const req = createRequire(import.meta.url);
  return join(dirname(req.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/**
 * Whether this onnxruntime-node can try CUDA: the build lists a CUDA backend
 * and its provider library is bundled or was installed next to the binding.
 * A `reason` says why not. (Creating a session is the final test.)
 */
export function detectCuda(): { available: boolean; reason?: string } {
  const cuda = ort.listSupportedBackends().find((b) => b.name === 'cuda');
  if (!cuda) return { available: false, reason: `this onnxruntime-node build (${process.platform}/${process.arch}) has no CUDA execution provider` };
  if (cuda.bundled) return { available: true };
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!existsSync(join(bindingDir(), lib))) return { available: false, reason: `the CUDA provider library (${lib}) is not installed; ${CUDA_INSTALL_HINT}` };
  return { available: true };
}

/** Parses a request from an option or env FARMER_ORT_PROVIDER; unknown names are an error listing the choices. */
export function parseExecutionProvider(v: string | undefined): ExecutionProviderRequest {
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if ((EXECUTION_PROVIDERS as readonly string[]).includes(v)) return v as ExecutionProviderName;
  throw new FarmerError('FARMER_E_BACKEND', `unknown onnxruntime execution provider '${v}'; use one of: auto, ${EXECUTION_PROVIDERS.join(', ')}`, { field: 'executionProvider' });
}

/** The providers to try for a request, in order, with those skipped up front. */
export function candidateProviders(requested: ExecutionProviderRequest): { order: ExecutionProviderName[]; skipped: ExecutionProviderInfo['skipped'] } {
  const skipped: ExecutionProviderInfo['skipped'] = [];
  if (requested === 'cpu') return { order: ['cpu'], skipped };
  const cuda = detectCuda();
  if (requested === 'cuda') {
    if (!cuda.available) throw new FarmerError('FARMER_E_BACKEND', `the CUDA execution provider was requested but is unavailable: ${cuda.reason}`, { requested });
    return { order: ['cuda'], skipped };
  }
  if (cuda.available) return { order: ['cuda', 'cpu'], skipped };
  skipped.push({ name: 'cuda', reason: cuda.reason! });
  return { order: ['cpu'], skipped };
}

/** One line for logs and `farmer inspect`. */
export function describeExecutionProvider(info: ExecutionProviderInfo): string {
  const skipped = info.skipped.length ? `; skipped ${info.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}` : '';
  return `onnxruntime-node ${ort.env.versions.node ?? ''} on ${info.name} (requested ${info.requested})${skipped}`;
}
