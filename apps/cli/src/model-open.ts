import { builtinModelDir, resolveCheckpointDir } from '@farmer/core';
import { loadTfRunner, TfRunner } from '@farmer/ar-gmm';
import { defaultOpenRunner } from '@farmer/server';
import type { CliContext } from './context.js';

/**
 * Opens a checkpoint (or the built-in model when none is given) for
 * inference the way the server does (EMA weights, the distilled student when
 * present); `ema: false` takes the raw weights. `close()` frees everything.
 */
export async function openRunner(ctx: CliContext, checkpoint: string | undefined, options: { ema?: boolean } = {}): Promise<{ runner: TfRunner; dir: string; builtin: boolean; close: () => void }> {
  const dir = checkpoint ? resolveCheckpointDir(checkpoint) : builtinModelDir();
  if (!checkpoint) ctx.note(`using the built-in model ${dir}`);
  const runner = options.ema === false ? await loadTfRunner(dir, { ema: false }) : await defaultOpenRunner(dir);
  if (!(runner instanceof TfRunner)) throw new Error('internal: expected a tfjs runner');
  return { runner, dir, builtin: !checkpoint, close: () => runner.dispose() };
}
