import { farmerDims, finalPermuteFlips, type FarmerConfig } from '@farmer/ar-gmm';
import { arHeads } from './ar-graphs.js';
import { flowForward } from './flow-graphs.js';
import { gmmLogDensityGraph } from './gmm-graph.js';
import { attr, type GraphBuilder } from './graph-builder.js';
import { reverseAxis, scalar, under, type Params } from './graph-ops.js';

/** Per-image pieces of the joint NLL in the graph, each [B]. */
export interface NllGraph {
  /** −(1/(N·d))·[Σ log G_i(z_i^I) + Σ log G_{N+1}(z_i^R) + Σ_t log|det_t|] (docs/method.md §5.1 joint loss). */
  nllPerDim: string;
  /** Σ over blocks of log|det|. */
  logdet: string;
}

/** Σ over axis 1 of [B, T] → [B]. */
function sumTokens(g: GraphBuilder, x: string): string {
  return g.op('ReduceSum', [x, g.int64s([1])], [attr.int('keepdims', 0)]);
}

/**
 * The joint NLL per dim of FARMER (docs/method.md §5.1 joint loss) in the graph, the same
 * formulas as `FarmerModel.nll`: AF forward, final permute, channel split,
 * the AR's informative GMM per token and the shared redundant GMM for all
 * N redundant vectors, and Σ logdets. `p` resolves checkpoint names
 * (`flow.…`, `ar.…`). images [B, C, H, W] in [-1, 1]; classRow [B] int64
 * (class-table rows, the null label at row numClasses). The AF runs with
 * its null class vector, as FARMER's AF is unconditional.
 */
export function farmerNllGraph(g: GraphBuilder, p: Params, c: FarmerConfig, images: string, classRow: string): NllGraph {
  const { numTokens: N, tokenDim: d, dI, dR } = farmerDims(c);
  const { z, logdets } = flowForward(g, under(p, 'flow.'), c.flow, images);
  const zAr = finalPermuteFlips(c) ? reverseAxis(g, z, N, 1) : z;
  const [zI, zR] = dR > 0 ? g.opN('Split', [zAr, g.int64s([dI, dR])], 2, [attr.int('axis', 2)], 'channels') : [zAr, undefined];
  const heads = arHeads(g, under(p, 'ar.'), c, zI, classRow);
  let logp = sumTokens(g, gmmLogDensityGraph(g, zI, heads.informative, c.ar.componentsInformative, dI, c.ar.sigmaMin));
  if (zR && heads.redundant) {
    const shared = g.op('Unsqueeze', [heads.redundant, g.int64s([1])]);
    logp = g.op('Add', [logp, sumTokens(g, gmmLogDensityGraph(g, zR, shared, c.ar.componentsRedundant, dR, c.ar.sigmaMin))]);
  }
  const logdet = sumTokens(g, logdets);
  const nllPerDim = g.op('Mul', [g.op('Add', [logp, logdet]), scalar(g, -1 / (N * d))], [], 'nll_per_dim');
  return { nllPerDim, logdet };
}
