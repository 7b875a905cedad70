/*
 * The CLI's sampling helpers, shared by the commands that draw images
 * (sample, demo, the sample metrics of eval): not a command itself, so that
 * no command imports another.
 */
export { addGenerateOptionFlags, generateOptionFlag, generateOptionsOfFlags } from './generate-option-flags.js';
export { addSamplerFlags, checkRunSize, generateOptionsFromFlags, SAMPLE_COUNT_LIMIT, type SampleFlags } from './sample-flags.js';
export { checkSampleOutputs, sampleFileName, sidecarOf, writeSamples } from './sample-files.js';
export { generateWithProgress } from './generate-with-progress.js';
export { addScaleOutFlags, shardedImages, submission, type ScaleOutFlags, type Submission } from './sharded-images.js';
