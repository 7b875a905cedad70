/**
 * @farmer/core/browser: the part of core that runs in a browser (and
 * anywhere else): the error catalogue, the seeded RNG, labels, patch
 * geometry, host image conversions, the transparency rule, bits/dim, zod validation, manifest size
 * errors and own-property lookups. No `node:`
 * module, no tfjs, no native code; `@farmer/core` re-exports all of it (the
 * same classes, so `instanceof FarmerError` holds across both entries).
 */
export { ERROR_CODES, FarmerError, isFarmerError, USER_ERROR_CODES, type FarmerErrorCode } from './errors.js';
export { Rng, type RngState } from './rng.js';
export { backgroundOf, BLACK_BACKGROUND, checkBackground, compositeChannel, compositeRgba, sameBackground, WHITE_BACKGROUND, type Background } from './background.js';
export { checkLabels, NULL_LABEL } from './labels.js';
export { checkGeometry, patchIndexMap, tokenShape, type PatchGeometry } from './patch-geometry.js';
export { checkU8Images, floatNCHWToU8, mapU8ToNCHW, quantizeToU8, sliceImages, u8ToFloatNCHW, type U8Images } from './image.js';
export { bitsPerDim, cosineSigma, noisyImages, type NoiseConfig } from './noise.js';
export { formatZodIssues, ManifestFileSchema, validate, type ManifestFile } from './validate.js';
export { fileSizeError } from './file-size-error.js';
export { ownValue } from './own-key.js';
