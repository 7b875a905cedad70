import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TfRunner, type FarmerRunner } from '@farmer/ar-gmm';
import { FarmerError } from '@farmer/core';
import { BUILTIN_MODEL, BUILTIN_MODELS, builtinModelDir } from '@farmer/models';
import { openModel, type LikelihoodIf, type OpenedModel, type RuntimeChoice } from '@farmer/runtime';
import type { CliContext } from './context.js';
import { UsageError } from './errors.js';

/** Which model a command runs: a built-in by name (`--model`) or a checkpoint path (`--checkpoint`); neither is the default built-in. */
export interface ModelFlags {
  model?: string;
  checkpoint?: string;
}

/** Help of `--model NAME` and `--checkpoint DIR`, the flags of every command that runs a model. */
export const MODEL_FLAG_HELP = `built-in model: ${BUILTIN_MODELS.join(', ')} (default ${BUILTIN_MODEL})`;
export const CHECKPOINT_FLAG_HELP = 'checkpoint or run directory (instead of a built-in model)';

/** The checkpoint directory the model flags name, and whether it is a built-in one. */
export function modelDirOf(flags: ModelFlags): { dir: string; builtin: boolean } {
  if (flags.model !== undefined && flags.checkpoint !== undefined) throw new UsageError('give --model (a built-in model) or --checkpoint (a directory), not both');
  if (flags.checkpoint !== undefined) return { dir: flags.checkpoint, builtin: false };
  return { dir: builtinModelDir(flags.model), builtin: true };
}

/**
 * The dataset spec a checkpoint was trained on, from the provenance in its
 * config.json (`meta.source.data` of an exported model, `meta.data` of a
 * run), or undefined when it does not say.
 */
export function modelDataSpec(dir: string): string | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).meta ?? {};
    const data = meta.source?.data ?? meta.data;
    return typeof data === 'string' ? data : undefined;
  } catch {
    return undefined;
  }
}

/** How a command opens its model: EMA or raw weights, the runtime, and whether it scores images (`likelihood`). */
export interface OpenRunnerOptions<L extends boolean = boolean> {
  ema?: boolean;
  runtime?: RuntimeChoice;
  /** Open the likelihood too (default false); the result's type then has it. */
  likelihood?: L;
}

/** What a command opened: the sampler (and the likelihood when asked for), its directory, and how it runs. */
export interface OpenRunnerResult<L extends boolean = boolean> {
  runner: FarmerRunner;
  /** There when opened with `likelihood: true`. */
  likelihood: LikelihoodIf<L>;
  dir: string;
  builtin: boolean;
  /** The export written on this first use, and why `auto` fell back to tfjs, for JSON output. */
  exported?: OpenedModel['exported'];
  fallback?: string;
  close: () => void;
}

/**
 * Opens a checkpoint or a built-in model (the default one when neither is given) for
 * inference through @farmer/runtime, as the server does: `auto` runs on
 * onnxruntime (exporting on first use), `tfjs` and `onnx` as asked. Its
 * one-line notices (an export and its time, a fallback and why) go to
 * stderr. `close()` frees everything.
 */
export async function openRunner<L extends boolean = false>(ctx: CliContext, source: ModelFlags, options: OpenRunnerOptions<L> = {}): Promise<OpenRunnerResult<L>> {
  const { dir, builtin } = modelDirOf(source);
  if (builtin) ctx.note(`using the built-in model ${dir}`);
  const m: OpenedModel<L> = await openModel(dir, { runtime: options.runtime ?? 'auto', ema: options.ema, likelihood: options.likelihood, onNotice: (line) => ctx.note(line) });
  const provider = m.executionProvider ? ` on ${m.executionProvider.name}` : ctx.backend ? ` on ${ctx.backend.name}` : '';
  ctx.note(`runtime ${m.runtime}${provider}`);
  return { runner: m.runner, likelihood: m.likelihood, dir: m.dir, builtin, exported: m.exported, fallback: m.fallback, close: () => void m.close() };
}

/** A tfjs runner, for commands that need the model itself (logdet, report); `auto` means tfjs here. */
export async function openTfRunner(ctx: CliContext, source: ModelFlags, options: { ema?: boolean; runtime?: RuntimeChoice } = {}): Promise<{ runner: TfRunner; dir: string; close: () => void }> {
  if (options.runtime === 'onnx') throw new UsageError('this command needs the model on tfjs (it reads the AF itself); drop --runtime onnx');
  const r = await openRunner(ctx, source, { ema: options.ema, runtime: 'tfjs' });
  if (!(r.runner instanceof TfRunner)) throw new FarmerError('FARMER_E_INTERNAL', `asked for tfjs, the model opened on ${r.runner.runtime}`);
  return { runner: r.runner, dir: r.dir, close: r.close };
}
