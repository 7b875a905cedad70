import { farmerDims, toArOrderHost, type FarmerRunner } from '@farmer/ar-gmm/browser';
import { FarmerError, Rng } from '@farmer/core/browser';
import { calibrateJacobi, JACOBI_DEFAULTS, type JacobiPlanFile } from '@farmer/flow/browser';
import { resolveRequest } from './resolve-generate-options.js';
import { sampleLatents } from './sample-latents.js';
import { seedOf } from './seed-of.js';

/** Options of {@link measureJacobiPlan}: how many of the model's own images, their seed, the tolerance the plan is made for. */
export interface MeasureJacobiPlanOptions {
  /** Images to measure on (default 16), labels cycling over the classes, drawn with the default sampler. */
  count?: number;
  seed?: number;
  tolerance?: number;
  /** Called after each image's latents are drawn. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * A model's Jacobi plan, measured (docs/method.md §3.13 Jacobi decoding): latents the model draws itself
 * (the default sampler, labels cycling over the classes) are inverted block
 * by block exactly, and each block's initial guess, convergence metric and,
 * for the tough blocks, module count are derived from them. The result is
 * the content of `jacobi-plan.json`. Images whose latents the exact inverse
 * cannot decode are skipped (counted in `calibration.skipped`).
 */
export async function measureJacobiPlan(runner: FarmerRunner, options: MeasureJacobiPlanOptions = {}): Promise<JacobiPlanFile> {
  if (!runner.afBlocks) throw new FarmerError('FARMER_E_BAD_INPUT', `the ${runner.runtime} runner of this model offers no single AF blocks (an ONNX export made before the Jacobi pass graphs: export it again)`, { field: 'runtime' });
  const count = options.count ?? 16;
  const seed = options.seed ?? 0;
  const tolerance = options.tolerance ?? JACOBI_DEFAULTS.tolerance;
  const c = runner.config;
  const labels = c.numClasses > 0 ? Array.from({ length: count }, (_, i) => i % c.numClasses) : null;
  const { options: p } = resolveRequest(runner, { count, labels, seed, batchSize: 1 });
  const { numTokens: N, tokenDim: d, dI, dR } = farmerDims(c);
  const z = new Float32Array(count * N * d);
  // Latents the exact inverse cannot decode (non-finite; what generate's redraws handle) are skipped: image seeds go on past `count`.
  let skipped = 0;
  for (let done = 0, i = 0; done < count; i++) {
    if (skipped > 3 * count) throw new FarmerError('FARMER_E_NON_FINITE', `measuring the Jacobi plan: ${skipped} of the model's images could not be decoded`);
    const one = { runner, options: p, labels: Int32Array.of(labels?.[done] ?? -1), rngs: [new Rng(seedOf(seed, i))], progress: () => undefined };
    const zi = toArOrderHost(c, await sampleLatents(one, { N, d, dI, dR }), 1, N, d);
    try {
      await runner.decode(zi, 1);
    } catch (e) {
      if (e instanceof FarmerError && e.code === 'FARMER_E_NON_FINITE') {
        skipped++;
        continue;
      }
      throw e;
    }
    z.set(zi, done * N * d);
    done++; // not inside the optional call below: without onProgress its arguments are never evaluated
    options.onProgress?.(done, count);
  }
  const r = await calibrateJacobi(runner.afBlocks.exact, runner.afBlocks.pass, z, count, N, d, c.flow.numBlocks, tolerance);
  return {
    format: 'farmer-jacobi-plan',
    version: 1,
    ...r.plan,
    calibration: { images: count, skipped, tolerance, seed, runtime: runner.runtime },
    blocks: r.blocks,
  };
}
