/**
 * @farmer/test-utils: helpers that several packages' tests share (private,
 * never published). Depends on @farmer/core only, so every package above
 * core can use it as a devDependency.
 */
export { maxAbsDiff, relErr, u8Diff } from './diff.js';
export { randomize, type RandomizeOptions } from './randomize.js';
export { deadPid, makeReadOnly } from './file-system.js';
export { craftedPng } from './crafted-png.js';
export { freePort, hasRedisServer, startRedisServer, type TestRedis, type TestRedisOptions } from './redis-server.js';
export { watchOpenHandles, type HandleMark, type OpenHandleWatch } from './open-handles.js';
export { missingPackageError } from './missing-package-error.js';
export { imagesSha256, REFERENCE_CASES, type ReferenceCase, type ReferenceSurface } from './reference-images.js';
export { COLOUR_SHAPE_CLASSES, colourShape, colourShapePng, writeColourShapes } from './colour-shapes.js';
export { findScaledImage, scaledImageAt } from './find-scaled-image.js';
