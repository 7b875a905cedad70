import { builtinModelDir, resolveCheckpointDir } from '@farmer/core';
import { loadTfRunner, type TfRunner } from '@farmer/ar-gmm';
import type { CliContext } from './context.js';

/** Opens a checkpoint (or the built-in model when none is given) for inference. */
export async function openRunner(ctx: CliContext, checkpoint: string | undefined, options: { ema?: boolean } = {}): Promise<{ runner: TfRunner; dir: string; builtin: boolean }> {
  const dir = checkpoint ? resolveCheckpointDir(checkpoint) : builtinModelDir();
  if (!checkpoint) ctx.note(`using the built-in model ${dir}`);
  const runner = await loadTfRunner(dir, { ema: options.ema });
  return { runner, dir, builtin: !checkpoint };
}
