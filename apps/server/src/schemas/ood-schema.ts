/*
 * The per-part terms and the default OOD score that the likelihood and
 * classify responses carry (docs/method.md §5.5 OOD scores).
 */

import { DEFAULT_OOD_SCORE, OOD_ORIENTATION } from '@farmer/eval';

/** log p(x|y) and its three terms, nats. */
export const likelihoodTermsSchema = {
  type: 'object',
  required: ['informative', 'redundant', 'logdet', 'total'],
  description: 'log p(x|y) and its terms in nats (docs/method.md §5.1 joint loss): total = informative + redundant + logdet.',
  properties: {
    informative: { type: 'number', description: "The informative channels' AR log-density Σ log G_i(z_i^I | y)." },
    redundant: { type: 'number', description: "The redundant channels' log-density given y and the informative tokens (0 when the model has none)." },
    logdet: { type: 'number', description: "The AF's log-determinant Σ_t log|det_t| (it sees no label)." },
    total: { type: 'number', description: 'log p(x|y).' },
  },
} as const;

/** The default OOD score of the image, present when the model is class-conditional and has its training statistics (ood-stats.json). */
export const oodResultSchema = {
  type: 'object',
  required: ['score', 'value'],
  description: `How out-of-distribution the image is by ${DEFAULT_OOD_SCORE} (${OOD_ORIENTATION[DEFAULT_OOD_SCORE]} is more out-of-distribution): the Mahalanobis distance of (bits/dim under the most likely class, PNG bits per dimension) from the model's training images. Present when the model is class-conditional and ships its training statistics.`,
  properties: {
    score: { type: 'string', enum: [DEFAULT_OOD_SCORE] },
    value: { type: 'number' },
  },
} as const;
