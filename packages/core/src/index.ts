/**
 * @farmer/core: backend selection, seeded RNG, images and patchify, noise,
 * the safetensors codec, the checkpoint format and datasets. Everything of
 * `@farmer/core/browser` (no Node module, no tfjs) is re-exported here.
 */
export { tf, type Tensor, type Variable } from './tf.js';
export * from './browser.js';
export {
  BACKEND_NAMES,
  backendInfo,
  describeBackend,
  initBackend,
  type BackendInfo,
  type BackendName,
  type InitBackendOptions,
} from './backend.js';
export { isFastBatchMatMulGradActive, registerFastBatchMatMulGrad, restoreBuiltinBatchMatMulGrad } from './batch-matmul-grad.js';
export { normalTensor, uniformTensor } from './rng-tensors.js';
export { patchify, unpatchify } from './patchify.js';
export { imagesToTensor, tensorToImages } from './image-tensors.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  f16ToF32,
  f32,
  f32ToF16,
  SAFE_DTYPES,
  toFloat32,
  type HostArray,
  type HostTensor,
  type SafeDtype,
  type TensorMap,
} from './safetensors.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointConfigSchema,
  checkpointOutput,
  checkTensorShapes,
  makeCheckpointConfig,
  manifestEntry,
  readCheckpoint,
  readManifest,
  RESTORE_CHECKPOINT_FILE,
  writeCheckpoint,
  type CheckpointConfig,
  type CheckpointData,
  type CheckpointManifest,
  type LoadedCheckpoint,
  type ReadCheckpointOptions,
  type ReadManifestOptions,
} from './checkpoint.js';
export { writeDirectoryAtomic, writeFileAtomic, type DirectoryFile, type WriteDirectoryOptions } from './atomic-write.js';
export { checkOutputDirectory, type OutputDirectoryOptions, type OutputKind } from './output-directory.js';
export { ensureDirectory } from './ensure-directory.js';
export { directoryCreateProblem, directoryWriteProblem } from './writable-dir.js';
export { isProcessAlive, readableDirectory, recoverInterruptedWrite } from './interrupted-writes.js';
export { makeDataset, type DatasetSplit, type ImageDataset } from './datasets/dataset.js';
export { BatchStream, gatherExamples, type Batch, type BatchStreamOptions, type BatchStreamState } from './datasets/batch-stream.js';
export { BUILTIN_MNIST_TEST_EVERY, loadBuiltinMnist } from './datasets/mnist-builtin.js';
export { decodeIdx, FASHION_MNIST_CLASSES, idxClassNames, loadIdxDataset, type IdxArray } from './datasets/idx.js';
export { decodeCifarRecords, loadCifar10Dataset } from './datasets/cifar10.js';
export { loadImageFile, loadImageFolderDataset, type ImageFolderOptions } from './datasets/image-folder.js';
export { DATASET_SPEC_HELP, loadDataset, type LoadDatasetOptions } from './datasets/load.js';
export {
  EMOJI_BACKGROUND,
  EMOJI_CLASSES,
  EMOJI_IMAGE_SIZE,
  EMOJI_SPLIT,
  emojiSplitIndices,
  loadEmojiDataset,
  loadEmojiImages,
  type EmojiImages,
  type EmojiOptions,
  type EmojiSplit,
} from './datasets/emoji.js';
export { EMOJI_VENDORS, type EmojiVendor } from './datasets/emoji-packages.js';
export { boxDownsample2 } from './box-downsample.js';
export { meanAbsPixelDifference } from './pixel-distance.js';
export { mirrorImages } from './mirror-images.js';
export { decodePng, encodePng, imageGrid, type DecodePngOptions, type GridOptions } from './png.js';
export { checkPngSize, PNG_HEADER_BYTES, pngSize } from './png-size.js';
export { pngBitsPerDim } from './png-complexity.js';
export { checkPixelLimit, MAX_IMAGE_PIXELS } from './image-pixel-limit.js';
export { checkCheckpointFileSizes } from './checkpoint-file-sizes.js';
export { countParams, ParamStore } from './param-store.js';
export { resolveCheckpointDir } from './resolve-checkpoint-dir.js';
export { describeOrtNodeLoadFailure, isOrtNodeMissing, ORT_NODE_CPU_INSTALL, ORT_NODE_VERSION } from './ort-node-load-failure.js';
