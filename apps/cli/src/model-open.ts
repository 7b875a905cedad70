import { builtinModelDir, resolveCheckpointDir } from '@farmer/core';
import { loadTfRunner, TfRunner, type FarmerRunner } from '@farmer/ar-gmm';
import { openRunnerFor, type RuntimeChoice } from '@farmer/server';
import type { CliContext } from './context.js';
import { UsageError } from './errors.js';

/**
 * Opens a checkpoint (or the built-in model when none is given) for
 * inference exactly as the server does: on tfjs with the EMA weights and the
 * distilled student when present, or on onnxruntime from its export.
 * `ema: false` takes the raw weights (tfjs). `close()` frees everything.
 */
export async function openRunner(
  ctx: CliContext,
  checkpoint: string | undefined,
  options: { ema?: boolean; runtime?: RuntimeChoice } = {},
): Promise<{ runner: FarmerRunner; dir: string; builtin: boolean; close: () => void }> {
  // An ONNX export holds the EMA weights only; don't quietly switch runtimes.
  if (options.ema === false && options.runtime === 'onnx') throw new UsageError('--no-ema needs the tfjs runtime (an ONNX export holds the weights it was exported with, EMA by default); drop --runtime onnx or --no-ema');
  const dir = checkpoint ? resolveCheckpointDir(checkpoint) : builtinModelDir();
  if (!checkpoint) ctx.note(`using the built-in model ${dir}`);
  const runner = options.ema === false ? await loadTfRunner(dir, { ema: false }) : await openRunnerFor(dir, options.runtime ?? 'tfjs');
  if (runner.runtime !== 'tfjs') ctx.note(`runtime ${runner.runtime}`);
  const close = () => void runner.dispose?.();
  return { runner, dir, builtin: !checkpoint, close };
}

/** A tfjs runner, for commands that need the model itself (logdet, separation). */
export async function openTfRunner(ctx: CliContext, checkpoint: string | undefined, options: { ema?: boolean } = {}): Promise<{ runner: TfRunner; dir: string; close: () => void }> {
  const r = await openRunner(ctx, checkpoint, { ...options, runtime: 'tfjs' });
  if (!(r.runner instanceof TfRunner)) throw new Error('internal: expected a tfjs runner');
  return { runner: r.runner, dir: r.dir, close: r.close };
}
