import { attr, type GraphBuilder } from './graph-builder.js';
import { scalar } from './graph-ops.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** The raw head's pieces (docs/method.md §4.5 head output layout): [logits (K) | means (K·dim) | σ pre-activations (K·dim)]. */
interface GmmGraphParts {
  /** [B, T, K] */
  logits: string;
  /** [B, T, K, dim] */
  means: string;
  /** σ = softplus(u) + σ_min, [B, T, K, dim] */
  sigmas: string;
}

/** Splits a raw head [B, T, K(1+2·dim)] into mixture parameters. */
function headToGmmGraph(g: GraphBuilder, head: string, k: number, dim: number, sigmaMin: number): GmmGraphParts {
  const [logits, m, u] = g.opN('Split', [head, g.int64s([k, k * dim, k * dim])], 3, [attr.int('axis', -1)], 'gmm');
  const perComponent = g.int64s([0, 0, k, dim]);
  const means = g.op('Reshape', [m, perComponent], [], 'means');
  const sigmas = g.op('Add', [g.op('Softplus', [g.op('Reshape', [u, perComponent])]), scalar(g, sigmaMin)], [], 'sigmas');
  return { logits, means, sigmas };
}

/**
 * log G(z) (docs/method.md §4.6 GMM log-density) in the graph, every Gaussian constant included:
 * logsumexp_k [log_softmax(logits)_k − Σ_j (½u_kj² + log σ_kj) − dim·½·log 2π]
 * with u = (z − μ)/σ; the logsumexp is onnxruntime's ReduceLogSumExp,
 * which subtracts the maximum. z [B, T, dim] against a raw head
 * [B, T, K(1+2·dim)], or [B, 1, K(1+2·dim)] for one GMM shared by the T
 * tokens (the redundant group) → [B, T].
 */
export function gmmLogDensityGraph(g: GraphBuilder, z: string, head: string, k: number, dim: number, sigmaMin: number): string {
  const { logits, means, sigmas } = headToGmmGraph(g, head, k, dim, sigmaMin);
  const u = g.op('Div', [g.op('Sub', [g.op('Unsqueeze', [z, g.int64s([2])]), means]), sigmas]);
  const last = g.int64s([3]);
  const quad = g.op('ReduceSum', [g.op('Mul', [u, u]), last], [attr.int('keepdims', 0)]);
  // Σ_j log σ_kj does not depend on z: with a shared GMM it is computed once and broadcast over T.
  const logDet = g.op('ReduceSum', [g.op('Log', [sigmas]), last], [attr.int('keepdims', 0)]);
  const nll = g.op('Add', [g.op('Add', [g.op('Mul', [quad, scalar(g, 0.5)]), logDet]), scalar(g, dim * HALF_LOG_2PI)], [], 'component_nll');
  const joint = g.op('Sub', [g.op('LogSoftmax', [logits], [attr.int('axis', -1)]), nll]);
  return g.op('ReduceLogSumExp', [joint], [attr.ints('axes', [2]), attr.int('keepdims', 0)], 'log_gmm');
}
