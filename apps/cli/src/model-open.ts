import { builtinModelDir } from '@farmer/core';
import { TfRunner, type FarmerRunner } from '@farmer/ar-gmm';
import { openModel, type OpenedModel, type RuntimeChoice } from '@farmer/runtime';
import type { CliContext } from './context.js';
import { UsageError } from './errors.js';

/** What a command opened: the runner, its directory, and how it runs. */
export interface OpenRunnerResult {
  runner: FarmerRunner;
  dir: string;
  builtin: boolean;
  /** The export written on this first use, and why `auto` fell back to tfjs, for JSON output. */
  exported?: OpenedModel['exported'];
  fallback?: string;
  close: () => void;
}

/**
 * Opens a checkpoint (or the built-in model when none is given) for
 * inference through @farmer/runtime, as the server does: `auto` runs on
 * onnxruntime (exporting on first use), `tfjs` and `onnx` as asked. Its
 * one-line notices (an export and its time, a fallback and why) go to
 * stderr. `close()` frees everything.
 */
export async function openRunner(
  ctx: CliContext,
  checkpoint: string | undefined,
  options: { ema?: boolean; runtime?: RuntimeChoice; purposes?: ('sample' | 'likelihood')[] } = {},
): Promise<OpenRunnerResult> {
  const dir = checkpoint ?? builtinModelDir();
  if (!checkpoint) ctx.note(`using the built-in model ${dir}`);
  const m = await openModel(dir, { runtime: options.runtime ?? 'auto', ema: options.ema, purposes: options.purposes, onNotice: (line) => ctx.note(line) });
  const provider = m.executionProvider ? ` on ${m.executionProvider.name}` : ctx.backend ? ` on ${ctx.backend.name}` : '';
  ctx.note(`runtime ${m.runtime}${provider}`);
  return { runner: m.runner, dir: m.dir, builtin: !checkpoint, exported: m.exported, fallback: m.fallback, close: () => void m.close() };
}

/** A tfjs runner, for commands that need the model itself (logdet, report); `auto` means tfjs here. */
export async function openTfRunner(ctx: CliContext, checkpoint: string | undefined, options: { ema?: boolean; runtime?: RuntimeChoice } = {}): Promise<{ runner: TfRunner; dir: string; close: () => void }> {
  if (options.runtime === 'onnx') throw new UsageError('this command needs the model on tfjs (it reads the AF itself); drop --runtime onnx');
  const r = await openRunner(ctx, checkpoint, { ema: options.ema, runtime: 'tfjs' });
  if (!(r.runner instanceof TfRunner)) throw new Error('internal: expected a tfjs runner');
  return { runner: r.runner, dir: r.dir, close: r.close };
}
