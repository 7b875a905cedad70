import { FarmerError } from '@farmer/core/browser';
import { farmerDims, type FarmerConfig } from './config.js';
import { GmmRowScorer, headOutputToGmm } from './gmm-host.js';
import { overflowAsImpossible, type ArLogLik, type HostNll } from './likelihood-interface.js';

/** Raw AR head outputs of the teacher-forced pass for B rows. */
export interface ArHeadOutputs {
  /** Informative head [B, N, K_I(1+2d_I)], row i models token i (AR order). */
  informative: ArrayLike<number>;
  /** Redundant head [B, K_R(1+2d_R)], absent when d_R = 0. */
  redundant?: ArrayLike<number>;
}

/**
 * The AR terms of docs/method.md §5.1 joint loss from raw head outputs, in
 * float64 with the host GMM math (σ = softplus(u) + σ_min, log G by a stable
 * logsumexp; docs/method.md §4.6 GMM log-density): zAr [B, N, d] in AR order.
 */
export function arLogLikFromHeads(c: FarmerConfig, zAr: ArrayLike<number>, batch: number, heads: ArHeadOutputs): ArLogLik {
  const { numTokens: N, tokenDim: d, dI, dR } = farmerDims(c);
  const gI = headOutputToGmm(heads.informative, batch * N, c.ar.componentsInformative, dI, c.ar.sigmaMin);
  if (dR > 0 && !heads.redundant) throw new FarmerError('FARMER_E_SHAPE', 'the redundant head output is missing (d_R > 0)');
  const gR = heads.redundant && dR > 0 ? headOutputToGmm(heads.redundant, batch, c.ar.componentsRedundant, dR, c.ar.sigmaMin) : undefined;
  const scoreI = new GmmRowScorer(gI);
  const scoreR = gR && new GmmRowScorer(gR);
  const out: ArLogLik = { logpInformative: new Float64Array(batch), logpRedundant: new Float64Array(batch) };
  for (let b = 0; b < batch; b++) {
    let lpI = 0;
    let lpR = 0;
    for (let i = 0; i < N; i++) {
      const at = (b * N + i) * d;
      lpI += scoreI.setRow(b * N + i).logDensity(zAr, at);
      // The redundant GMM is shared by all N tokens, each scored independently.
      if (scoreR) lpR += scoreR.setRow(b).logDensity(zAr, at + dI);
    }
    out.logpInformative[b] = lpI;
    out.logpRedundant[b] = lpR;
  }
  return out;
}

/**
 * docs/method.md §5.1 joint loss from its parts: the AR terms [B] and the
 * per-block log-determinants logdets [B, n] → the joint NLL per dim and its
 * pieces, float64.
 */
export function jointNllHost(c: FarmerConfig, batch: number, ar: ArLogLik, logdets: ArrayLike<number>): HostNll {
  const { numTokens: N, tokenDim: d } = farmerDims(c);
  const n = c.flow.numBlocks;
  const out: HostNll = { logpInformative: ar.logpInformative, logpRedundant: ar.logpRedundant, nllPerDim: new Float64Array(batch), logdet: new Float64Array(batch) };
  for (let b = 0; b < batch; b++) {
    let ld = 0;
    for (let t = 0; t < n; t++) ld += logdets[b * n + t];
    out.logdet[b] = ld;
    out.nllPerDim[b] = -overflowAsImpossible(ar.logpInformative[b] + ar.logpRedundant[b] + ld) / (N * d);
  }
  return out;
}
