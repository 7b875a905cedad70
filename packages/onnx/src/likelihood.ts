import { arLogLikFromHeads, farmerDims, jointNllHost, toArOrderHost, type FarmerConfig, type HostNll } from '@farmer/ar-gmm/browser';

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
 * float64 with the host GMM math of @farmer/ar-gmm (`arLogLikFromHeads`):
 * the same formulas as `FarmerModel.nll`.
 */
export function nllFromRawOutputs(c: FarmerConfig, batch: number, raw: RawLikelihoodOutputs): HostNll {
  const { numTokens: N, tokenDim: d } = farmerDims(c);
  const z = toArOrderHost(c, Float32Array.from(raw.z), batch, N, d);
  return jointNllHost(c, batch, arLogLikFromHeads(c, z, batch, { informative: raw.headInformative, redundant: raw.headRedundant }), raw.logdets);
}
