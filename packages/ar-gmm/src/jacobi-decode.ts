import { assertFiniteTokens, flowDims, jacobiDecode, JACOBI_DEFAULTS } from '@farmer/flow/browser';
import type { AfBlockAccess, DecodeOptions, FarmerRunner } from './runner-interface.js';

/**
 * The 'jacobi' decoder of every runner (docs/method.md §3.13 Jacobi decoding): z [B, N, d] (AF order) →
 * patch tokens, block by block through the runtime's fixed-point pass, with
 * the runner's plan and the request's settings; progress after each block,
 * FARMER_E_NON_FINITE when the result is not finite.
 */
export async function decodeByJacobi(runner: Pick<FarmerRunner, 'config' | 'jacobiPlan'>, access: AfBlockAccess, z: Float32Array, batch: number, options: DecodeOptions): Promise<Float32Array> {
  const f = runner.config.flow;
  const { numTokens: n, tokenDim: d } = flowDims(f);
  const { x } = await jacobiDecode(access.pass, z, batch, n, d, f.numBlocks, {
    tolerance: options.jacobi?.tolerance ?? JACOBI_DEFAULTS.tolerance,
    maxIterations: options.jacobi?.maxIterations,
    modules: options.jacobi?.modules,
    plan: runner.jacobiPlan,
    signal: options.signal,
    onBlock: (s) => {
      options.onJacobiBlock?.(s);
      options.onProgress?.({ block: s.block, token: n - 1, tokens: n - 1, blocksDone: f.numBlocks - 1 - s.block, blocks: f.numBlocks });
    },
  });
  assertFiniteTokens(x, [batch, n, d], 0, 'reverse');
  return x;
}
