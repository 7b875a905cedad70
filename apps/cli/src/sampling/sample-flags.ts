import { constants as bufferConstants } from 'node:buffer';
import type { Command } from 'commander';
import { RUNTIME_CHOICES, type RuntimeChoice } from '@farmer/runtime';
import type { GenerateOptions } from '@farmer/sampling';
import { UsageError } from '../errors.js';
import { choiceFlag, intFlag } from '../flags.js';
import type { ModelFlags } from '../model-open.js';
import { addGenerateOptionFlags, generateOptionsOfFlags } from './generate-option-flags.js';

/** The flags of a command that draws samples: the generate options' (derived from the schema), the CLI's conveniences, and how the model runs. */
export interface SampleFlags extends ModelFlags {
  count?: number;
  labels?: number[];
  imageSeeds?: (number | string)[];
  /** n images of every class. */
  perClass?: number;
  unconditional?: boolean;
  ema: boolean;
  runtime: RuntimeChoice;
  /** The most images one run may draw (`--max-count`). */
  maxCount: number;
  /** Every other generate option's flag, by its attribute name (`--cfg-pool-c` → cfgPoolC). */
  [attribute: string]: unknown;
}

/** The default per-run limit of `--count` (`--max-count` raises it; larger jobs belong to a scale-out). */
export const SAMPLE_COUNT_LIMIT = 100_000;

/**
 * Refuses a run of more than `maxCount` images (and one whose images would
 * not fit one buffer), before any model is opened or image drawn.
 */
export function checkRunSize(count: number, maxCount: number, imageBytes = 1): void {
  if (count > maxCount) {
    throw new UsageError(`${count} images is over the per-run limit of ${maxCount}; raise it with --max-count, or split the job into several runs with different --seed`);
  }
  if (count * imageBytes > bufferConstants.MAX_LENGTH) {
    throw new UsageError(`${count} images of ${imageBytes} bytes do not fit in memory at once (${bufferConstants.MAX_LENGTH} bytes at most); split the job into several runs`);
  }
}

/** Which images the flags ask for: the count and labels after --per-class, --unconditional and the CLI's defaults (one image per class, or 16). */
function requestOf(flags: SampleFlags, numClasses: number): { count: number; labels: number | number[] | null } {
  let labels: number | number[] | null = null;
  let count = flags.count;
  const modes = [flags.labels !== undefined, flags.perClass !== undefined, Boolean(flags.unconditional)].filter(Boolean).length;
  if (modes > 1) throw new UsageError('use one of --labels, --per-class and --unconditional');
  if (flags.perClass !== undefined) {
    if (numClasses === 0) throw new UsageError('--per-class needs a class-conditional model; this one is unconditional');
    labels = Array.from({ length: numClasses * flags.perClass }, (_, i) => Math.floor(i / flags.perClass!));
    count = labels.length;
  } else if (flags.labels) {
    count ??= flags.labels.length;
    // One label is for every image.
    labels = flags.labels.length === 1 ? flags.labels[0] : flags.labels;
    if (Array.isArray(labels) && labels.length !== count) throw new UsageError(`--labels gives ${labels.length} labels for --count ${count}`);
  }
  count ??= flags.imageSeeds?.length ?? (numClasses > 0 && !flags.unconditional ? numClasses : 16);
  if (labels === null && numClasses > 0 && !flags.unconditional && flags.count === undefined) labels = Array.from({ length: count }, (_, i) => i % numClasses);
  return { count, labels };
}

/** Generation options from flags: one mapping shared by `sample`, `demo` and the sample metrics. */
export function generateOptionsFromFlags(flags: SampleFlags, numClasses: number): GenerateOptions {
  const { count, labels } = requestOf(flags, numClasses);
  checkRunSize(count, flags.maxCount);
  return generateOptionsOfFlags(flags, { count, labels });
}

/** Adds the flags of every generate option (but count, labels and image seeds, which each command words itself) and how the model runs. */
export function addSamplerFlags(cmd: Command): Command {
  return addGenerateOptionFlags(cmd)
    .option('--no-ema', 'use the raw weights instead of the EMA weights (runs on tfjs)')
    .option('--runtime <name>', 'auto (onnxruntime whenever it loads, exporting the checkpoint on first use; else tfjs), onnx (an existing export only) or tfjs', choiceFlag('--runtime', RUNTIME_CHOICES), 'auto')
    .option('--max-count <n>', `most images one run may draw (default ${SAMPLE_COUNT_LIMIT.toLocaleString('en-US')})`, intFlag('--max-count', 1), SAMPLE_COUNT_LIMIT);
}
