import { farmerDims, GmmRowScorer, headOutputToGmm, toArOrderHost, type FarmerConfig, type HostNll } from '@farmer/ar-gmm/browser';
import { FarmerError } from '@farmer/core/browser';

/** Raw outputs of the AF forward and AR teacher-forced graphs for one batch. */
export interface RawLikelihoodOutputs {
  /** z [B, N, d], AF order. */
  z: ArrayLike<number>;
  /** log|det| per block [B, n]. */
  logdets: ArrayLike<number>;
  /** Informative head [B, N, K_I(1+2d_I)], row i models token i (AR order). */
  headInformative: ArrayLike<number>;
  /** Redundant head [B, K_R(1+2d_R)], absent when d_R = 0. */
  headRedundant?: ArrayLike<number>;
}

/**
 * The joint NLL (docs/method.md §5.1 joint loss) from raw graph outputs, in
 * float64 with the host GMM math of @farmer/ar-gmm (σ = softplus(u) + σ_min,
 * log G by a stable logsumexp): the same formulas as `FarmerModel.nll`.
 */
export function nllFromRawOutputs(c: FarmerConfig, batch: number, raw: RawLikelihoodOutputs): HostNll {
  const { numTokens: N, tokenDim: d, dI, dR } = farmerDims(c);
  const n = c.flow.numBlocks;
  const z = toArOrderHost(c, Float32Array.from(raw.z), batch, N, d);
  const gI = headOutputToGmm(raw.headInformative, batch * N, c.ar.componentsInformative, dI, c.ar.sigmaMin);
  if (dR > 0 && !raw.headRedundant) throw new FarmerError('FARMER_E_SHAPE', 'the redundant head output is missing (d_R > 0)');
  const gR = raw.headRedundant && dR > 0 ? headOutputToGmm(raw.headRedundant, batch, c.ar.componentsRedundant, dR, c.ar.sigmaMin) : undefined;
  const scoreI = new GmmRowScorer(gI);
  const scoreR = gR && new GmmRowScorer(gR);
  const out: HostNll = { nllPerDim: new Float64Array(batch), logpInformative: new Float64Array(batch), logpRedundant: new Float64Array(batch), logdet: new Float64Array(batch) };
  for (let b = 0; b < batch; b++) {
    let lpI = 0;
    let lpR = 0;
    let ld = 0;
    for (let i = 0; i < N; i++) {
      const at = (b * N + i) * d;
      lpI += scoreI.setRow(b * N + i).logDensity(z, at);
      // The redundant GMM is shared by all N tokens, each scored independently.
      if (scoreR) lpR += scoreR.setRow(b).logDensity(z, at + dI);
    }
    for (let t = 0; t < n; t++) ld += raw.logdets[b * n + t];
    out.logpInformative[b] = lpI;
    out.logpRedundant[b] = lpR;
    out.logdet[b] = ld;
    out.nllPerDim[b] = -(lpI + lpR + ld) / (N * d);
  }
  return out;
}
