import type { Command } from 'commander';
import { RUNTIME_CHOICES } from '@farmer/runtime';
import { choiceFlag, intFlag, pathFlag } from './flags.js';
import { CHECKPOINT_FLAG_HELP, MODEL_FLAG_HELP } from './model-open.js';

/** The options every likelihood command shares (classify, eval classify, eval ood). */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--checkpoint <dir>', CHECKPOINT_FLAG_HELP, pathFlag('--checkpoint'))
    .option('--batch-size <n>', 'images per AF pass (the AR scores n × classes rows)', intFlag('--batch-size', 1), 16)
    .option('--seed <n>', 'seed of the dequantisation noise', intFlag('--seed', 0), 0)
    .option('--no-ema', 'use the raw weights instead of the EMA weights (runs on tfjs)')
    .option('--runtime <name>', 'auto (onnxruntime whenever it loads, exporting the checkpoint on first use; else tfjs), onnx (an existing export only) or tfjs', choiceFlag('--runtime', RUNTIME_CHOICES), 'auto');
}
