/**
 * @farmer/core: backend selection, seeded RNG, images and patchify, noise,
 * the safetensors codec, the checkpoint format and datasets.
 */
export { tf, type Tensor, type Variable } from './tf.js';
export { ERROR_CODES, FarmerError, isFarmerError, USER_ERROR_CODES, type FarmerErrorCode } from './errors.js';
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
export { Rng, type RngState } from './rng.js';
export { checkLabels, NULL_LABEL } from './labels.js';
export { checkGeometry, patchIndexMap, patchify, tokenShape, unpatchify, type PatchGeometry } from './patchify.js';
export {
  checkU8Images,
  floatNCHWToU8,
  imagesToTensor,
  mapU8ToNCHW,
  quantizeToU8,
  sliceImages,
  tensorToImages,
  u8ToFloatNCHW,
  type U8Images,
} from './image.js';
export { bitsPerDim, cosineSigma, noisyImages, type NoiseConfig } from './noise.js';
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
  checkTensorShapes,
  formatZodIssues,
  makeCheckpointConfig,
  manifestEntry,
  ManifestFileSchema,
  readCheckpoint,
  readManifest,
  validate,
  writeCheckpoint,
  type CheckpointConfig,
  type CheckpointData,
  type CheckpointManifest,
  type LoadedCheckpoint,
  type ManifestFile,
  type ReadCheckpointOptions,
  type ReadManifestOptions,
} from './checkpoint.js';
export { replaceDirectory, writeDirectoryAtomic, writeFileAtomic, type DirectoryFile, type WriteDirectoryOptions } from './atomic-write.js';
export { directoryWriteProblem } from './writable-dir.js';
export { isProcessAlive, readableDirectory, recoverInterruptedWrite } from './interrupted-writes.js';
export { makeDataset, type DatasetSplit, type ImageDataset } from './datasets/dataset.js';
export { BatchStream, gatherExamples, type Batch, type BatchStreamOptions, type BatchStreamState } from './datasets/batch-stream.js';
export { BUILTIN_MNIST_TEST_EVERY, loadBuiltinMnist } from './datasets/mnist-builtin.js';
export { decodeIdx, FASHION_MNIST_CLASSES, idxClassNames, loadIdxDataset, type IdxArray } from './datasets/idx.js';
export { decodeCifarRecords, loadCifar10Dataset } from './datasets/cifar10.js';
export { loadImageFile, loadImageFolderDataset, type ImageFolderOptions } from './datasets/image-folder.js';
export { DATASET_SPEC_HELP, loadDataset, type LoadDatasetOptions } from './datasets/load.js';
export { decodePng, encodePng, imageGrid, type GridOptions } from './png.js';
export { countParams, ParamStore } from './param-store.js';
export { BUILTIN_MODEL, BUILTIN_MODELS, builtinModelDir, builtinModels, resolveCheckpointDir, type BuiltinModelName } from './model-paths.js';
