import { Option } from 'commander';
import { resumedLayout, TRAIN_ENGINES, type EngineChoiceOptions, type OnEngineChosen, type TrainEngineChoice } from '@farmer/onnx';
import type { CliContext } from './context.js';
import { runConfigOf } from './run-config.js';
import { UsageError } from './errors.js';
import { choiceFlag, intFlag } from './flags.js';

/**
 * The training engine's flags, which `farmer train`, `farmer distill` and
 * `farmer demo --train` share: the engine and its layout of data-parallel
 * replicas (`--workers`) and intra-op threads per replica (`--threads`).
 */
export interface EngineFlags {
  engine: TrainEngineChoice;
  workers?: number | 'auto';
  threads?: number;
}

/** Parses `--workers`: 'auto' or a positive integer. */
function workersFlag(value: string): number | 'auto' {
  if (value.trim() === 'auto') return 'auto';
  if (!/^\s*\d+\s*$/.test(value)) throw new UsageError(`--workers takes a positive integer or 'auto', got '${value}'`);
  return intFlag('--workers', 1)(value);
}

/** `--engine`; `prefix` heads the help line (e.g. 'for --train: '). */
export function engineOption(prefix = ''): Option {
  return new Option('--engine <name>', `${prefix}training engine: auto (onnxruntime where it loads and covers the model, else tfjs), ort, tfjs`).argParser(choiceFlag('--engine', TRAIN_ENGINES)).default('auto');
}

/** `--workers`: data-parallel replicas on both engines. */
export function workersOption(prefix = ''): Option {
  return new Option(
    '--workers <n>',
    `${prefix}data-parallel replicas, each a thread with its own onnxruntime session or tfjs backend; auto: one single-threaded replica per core (default auto)`,
  ).argParser(workersFlag);
}

/** `--threads`: onnxruntime intra-op threads per replica. */
export function threadsOption(prefix = ''): Option {
  return new Option('--threads <n>', `${prefix}onnxruntime intra-op threads per replica (default: the cores ÷ --workers; with auto: 1)`).argParser(intFlag('--threads', 1));
}

/** The one-line note naming the engine a run got, its layout and why (when `auto` chose it). */
export function engineNote(e: Parameters<OnEngineChosen>[0]): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const layout = e.name === 'ort' ? `onnxruntime, ${plural(e.workers, 'worker')} × ${plural(e.threads ?? 1, 'thread')}` : `tfjs, ${plural(e.workers, 'worker')}`;
  return `engine: ${layout}${e.layout ? ` (${e.layout})` : ''}`;
}

/** The layout to ask for: the flags; on --resume, the checkpoint's own where the flags say nothing (so the run continues exactly). */
export function engineLayout(ctx: CliContext, flags: EngineFlags & { resume?: boolean }, outDir: string): EngineChoiceOptions {
  if (!flags.resume) return { workers: flags.workers, threads: flags.threads };
  const r = resumedLayout(runConfigOf(outDir)?.training ?? {}, flags);
  if (r.note) ctx.note(`note: ${r.note}`);
  return r.options;
}
