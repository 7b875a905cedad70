import { builtinModelDir, resolveCheckpointDir } from '@farmer/core';
import { loadTfRunner, type TfRunner } from '@farmer/ar-gmm';
import { loadRunnerWithStudent } from '@farmer/distill';
import type { CliContext } from './context.js';

/**
 * Opens a checkpoint (or the built-in model when none is given) for
 * inference, with its distilled student when the checkpoint has one.
 * `close()` frees everything.
 */
export async function openRunner(ctx: CliContext, checkpoint: string | undefined, options: { ema?: boolean } = {}): Promise<{ runner: TfRunner; dir: string; builtin: boolean; close: () => void }> {
  const dir = checkpoint ? resolveCheckpointDir(checkpoint) : builtinModelDir();
  if (!checkpoint) ctx.note(`using the built-in model ${dir}`);
  if (options.ema === false) {
    const runner = await loadTfRunner(dir, { ema: false });
    return { runner, dir, builtin: !checkpoint, close: () => runner.model.dispose() };
  }
  const { runner, student } = await loadRunnerWithStudent(dir);
  return {
    runner,
    dir,
    builtin: !checkpoint,
    close: () => {
      runner.model.dispose();
      student?.dispose();
    },
  };
}
