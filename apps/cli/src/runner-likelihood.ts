import { likelihoodOf, type FarmerLikelihood, type FarmerRunner } from '@farmer/ar-gmm';

/** The likelihood of an opened runner (every runner `openRunner` gives for 'likelihood' has one). */
export function runnerLikelihood(runner: FarmerRunner): FarmerLikelihood {
  const lik = likelihoodOf(runner);
  if (!lik) throw new Error(`internal: the ${runner.runtime} runner computes no likelihood`);
  return lik;
}
