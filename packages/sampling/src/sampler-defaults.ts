/*
 * The samplers' default settings: the values the generate-options schema
 * (generate-options-schema.ts) gives as defaults and the samplers fall back
 * to. No imports, so every module of the package can read them.
 */

/** The paper's unguided setting (docs/method.md §7.2 decoupled sampling): s = 0.9, T = 1.3. */
export const PAPER_UNGUIDED_DECOUPLED = Object.freeze({ temperature: 1.3, scale: 0.9 });

/**
 * Defaults: the paper's 1.1B-p16 settings (docs/method.md §7.4 resampling CFG).
 * The redundant pool sizes are ours (the paper gives none): 64 + 64 candidates
 * is "one larger pool" than the informative 5 + 5, and keeps the cost of
 * scoring against K_R = 200, d_R = 640 mixtures at about 2·128·200·640 ≈ 33 M
 * multiply-adds per image, small next to one AR step.
 */
export const PAPER_RESAMPLING_CFG = Object.freeze({
  w: 2.5,
  sc: 5,
  su: 5,
  proposal: Object.freeze({ pi: 1.0, sigma: 0.9 }),
  evaluation: Object.freeze({ pi: 0.2, sigma: 0.9 }),
  sharpen: 1.1,
  poolC: 64,
  poolU: 64,
});

/**
 * The naive CFG baseline's defaults: plain temperature and scale, and a
 * guided σ at most twice the conditional one (its w defaults to the
 * resampling w, for like-for-like comparisons).
 */
export const NAIVE_CFG_DEFAULTS = Object.freeze({ temperature: 1, scale: 1, maxStdRatio: 2 });

/** Fresh draws per undecodable image (the `redraws` option of generate). */
export const DEFAULT_REDRAWS = 3;

/** Images per pass (the `batchSize` option of generate). */
export const DEFAULT_BATCH_SIZE = 16;
