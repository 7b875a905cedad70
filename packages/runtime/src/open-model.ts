import { describeOrtNodeLoadFailure, FarmerError, isFarmerError, resolveCheckpointDir, USER_ERROR_CODES } from '@farmer/core';
import type { FarmerLikelihood, FarmerRunner, ModelCapabilities } from '@farmer/ar-gmm';
import { isOnnxExport, loadOrtRuntime, type ExportProgress, type OrtRuntime } from '@farmer/onnx';
import type { ExecutionProviderInfo, ExecutionProviderRequest } from '@farmer/onnx/runtime';
import { readJacobiPlanFile } from '@farmer/flow';
import { exportOnFirstUse, findCurrentExport, type FirstUseExport } from './export-on-first-use.js';
import { parseRuntimeChoice, type RuntimeChoice } from './runtime-choice.js';
import { loadRunnerWithStudent } from './student-runner.js';

/**
 * Options of {@link openModel}: the runtime choice, whether to open the
 * likelihood too, EMA or raw weights, execution provider, threads, export
 * cache, notices. `L` is the `likelihood` flag's type, so that the opened
 * model's type says whether it has one.
 */
export interface OpenModelOptions<L extends boolean = boolean> {
  /** See RUNTIME_CHOICES; default 'auto'. */
  runtime?: RuntimeChoice;
  /**
   * The EMA weights (default, as the export holds them) or the raw ones
   * (false): those only run on tfjs, so `auto` then picks tfjs with a
   * notice and `onnx` is refused.
   */
  ema?: boolean;
  /** onnxruntime execution provider (default: env FARMER_ORT_PROVIDER, else auto: CUDA when installed, else CPU). */
  executionProvider?: ExecutionProviderRequest;
  /**
   * Open the likelihood as well as the sampler (default false): on
   * onnxruntime, the AF-forward and AR-forward sessions besides the
   * sampling ones. Only a model opened with it has `likelihood`.
   */
  likelihood?: L;
  /** onnxruntime intra-op threads per session (default onnxruntime's: one per physical core); several worker processes on one machine split the cores. */
  intraOpNumThreads?: number;
  /** Where exports of read-only checkpoints go (default `exportCacheRoot()`: FARMER_CACHE, ...). */
  cacheRoot?: string;
  /** One-line notices for the user: a fallback to tfjs and why, an export made on first use and its time, a wait for another exporter. */
  onNotice?: (line: string) => void;
  /** Called after each file of an export made on first use is written. */
  onExportProgress?: (p: ExportProgress) => void;
  /** How onnxruntime-node is loaded (a seam for tests; default `loadOrtRuntime`). */
  loadOrtRuntime?: () => Promise<OrtRuntime | Error>;
}

/** The likelihood of a model opened with `likelihood: L`: there when L is true, absent when false, either when unknown. */
export type LikelihoodIf<L extends boolean> = L extends true ? FarmerLikelihood : undefined;

/**
 * A model open for inference, and what it can do: `runner` (the sampler)
 * always, `likelihood` only when it was opened with `likelihood: true`, on
 * either runtime.
 */
export interface OpenedModel<L extends boolean = boolean> extends ModelCapabilities {
  /** The sampler (AR streams, decoders), always there. */
  readonly runner: FarmerRunner;
  /** The joint likelihood, there only when opened with `likelihood: true`. */
  readonly likelihood: LikelihoodIf<L>;
  /** The runner's runtime: 'onnxruntime' or 'tfjs'. */
  runtime: string;
  /** The checkpoint directory (resolved from a run directory), or the export directory given. */
  dir: string;
  /** The ONNX export running (onnxruntime). */
  exportDir?: string;
  /** The export written by this call (first use), with its time. */
  exported?: FirstUseExport;
  /** onnxruntime's execution provider, and the better ones skipped with why. */
  executionProvider?: ExecutionProviderInfo;
  /** Why `auto` runs on tfjs (one line), when it does. */
  fallback?: string;
  /** Frees the runner's weights or sessions. */
  close(): Promise<void>;
}

/** An error of the checkpoint itself (corrupt, missing, invalid), as opposed to one of the onnxruntime path (or of where its export goes). */
function isCheckpointError(e: unknown): boolean {
  return isFarmerError(e) && USER_ERROR_CODES.has(e.code) && e.code !== 'FARMER_E_BACKEND' && e.code !== 'FARMER_E_UNSUPPORTED' && e.code !== 'FARMER_E_OUTPUT_EXISTS';
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** The likelihood of a runner that has one (TfRunner, OrtRunner opened with the likelihood sessions), when it was asked for. */
function likelihoodIf<L extends boolean>(asked: L | undefined, runner: FarmerLikelihood): LikelihoodIf<L> {
  return (asked ? runner : undefined) as LikelihoodIf<L>;
}

/**
 * Gives the runner the Jacobi plan beside the checkpoint (docs/method.md §3.13 Jacobi decoding), when there
 * is one: it wins over the plan an export carries, which may be older.
 */
async function attachJacobiPlan(runner: FarmerRunner, checkpointDir: string): Promise<void> {
  const plan = await readJacobiPlanFile(checkpointDir, runner.config.flow.numBlocks);
  if (plan) runner.jacobiPlan = plan;
}

async function openOnTfjs<L extends boolean>(checkpointDir: string, options: OpenModelOptions<L>, notice: (line: string) => void, fallback?: string): Promise<OpenedModel<L>> {
  const { runner, notice: studentNotice } = await loadRunnerWithStudent(checkpointDir, { ema: options.ema });
  if (studentNotice) notice(studentNotice);
  try {
    await attachJacobiPlan(runner, checkpointDir);
  } catch (e) {
    runner.dispose();
    throw e;
  }
  return { runner, likelihood: likelihoodIf(options.likelihood, runner), runtime: runner.runtime, dir: checkpointDir, fallback, close: async () => runner.dispose() };
}

/**
 * Opens a checkpoint, a training run directory (its `checkpoint/`), or an
 * ONNX export folder for inference, the one way the CLI and the server do:
 *
 * - `tfjs`: the inference weights (the student's teacher, else EMA when
 *   present) with the distilled student when there is one;
 * - `onnx`: an up-to-date export (`<checkpoint>/onnx`, or the cache) on
 *   onnxruntime-node; refused when there is none, saying how to make one;
 * - `auto`: onnxruntime whenever onnxruntime-node loads. A checkpoint
 *   without an up-to-date export is exported on first use (see
 *   `exportOnFirstUse`), with a one-line notice and its time. When
 *   onnxruntime-node does not load, the export cannot be written, or the
 *   raw weights are asked for, the model opens on tfjs and `fallback` (also
 *   a notice) says why. Errors of the checkpoint itself are thrown, not
 *   fallen back on.
 *
 * What the model can do is decided here, the same on either runtime: it
 * always samples (`runner`); it has a `likelihood` only when opened with
 * `likelihood: true` (and its type says so).
 *
 * The same seed gives the same images on either runtime, up to the
 * runtime-agreement rule (docs/method.md §7.10 runtime agreement).
 */
export async function openModel<L extends boolean = false>(dir: string, options: OpenModelOptions<L> = {}): Promise<OpenedModel<L>> {
  const choice = parseRuntimeChoice(options.runtime ?? 'auto');
  const notice = (line: string): void => options.onNotice?.(line);
  const bareExport = await isOnnxExport(dir);
  if (bareExport && (choice === 'tfjs' || options.ema === false)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `${dir} is an ONNX export, which runs on onnxruntime only (with the weights it holds); pass its checkpoint for tfjs`, { field: 'runtime' });
  }
  const checkpointDir = bareExport ? dir : resolveCheckpointDir(dir);
  const fallBack = async (why: string): Promise<OpenedModel<L>> => {
    notice(`running on tfjs: ${why}`);
    return openOnTfjs(checkpointDir, options, notice, why);
  };
  if (options.ema === false) {
    if (choice === 'onnx') throw new FarmerError('FARMER_E_BAD_INPUT', '--no-ema needs the tfjs runtime (an ONNX export holds the weights it was exported with, EMA by default); drop --runtime onnx or --no-ema', { field: 'runtime' });
    if (choice === 'auto') return fallBack('the raw weights (--no-ema) were asked for, and an ONNX export holds the EMA weights');
  }
  if (choice === 'tfjs') return openOnTfjs(checkpointDir, options, notice);

  const rt = await (options.loadOrtRuntime ?? loadOrtRuntime)();
  if (rt instanceof Error) {
    const why = describeOrtNodeLoadFailure(rt);
    if (choice === 'onnx') throw new FarmerError('FARMER_E_BACKEND', `--runtime onnx needs onnxruntime-node: ${why}`, { field: 'runtime' }, { cause: rt });
    return fallBack(why);
  }
  let exportDir = bareExport ? dir : undefined;
  let exported: FirstUseExport | undefined;
  if (!exportDir) {
    const found = await findCurrentExport(checkpointDir, options.cacheRoot);
    exportDir = found.dir;
    if (!exportDir && choice === 'onnx') {
      const why = found.stale.length ? `has no up-to-date ONNX export (${found.stale[0]})` : 'has no ONNX export';
      throw new FarmerError('FARMER_E_NOT_FOUND', `${dir} ${why}; write one with: farmer export onnx --checkpoint ${dir} (or drop --runtime onnx: the default, auto, exports on first use)`, { field: 'runtime', file: dir });
    }
    if (!exportDir) {
      try {
        exported = await exportOnFirstUse(checkpointDir, {
          cacheRoot: options.cacheRoot,
          onProgress: options.onExportProgress,
          onWait: (pid) => notice(`waiting for process ${pid}, which is exporting ${dir} to ONNX`),
        });
      } catch (e) {
        if (isCheckpointError(e)) throw e;
        return fallBack(`the ONNX export of ${dir} failed (${firstLine(e)})`);
      }
      exportDir = exported.dir;
      if (exported.seconds > 0) notice(`exported ${dir} to ONNX in ${exported.seconds.toFixed(1)} s → ${exportDir} (first use on onnxruntime; reused while the checkpoint is unchanged)`);
    }
  }
  try {
    const purposes: ('sample' | 'likelihood')[] = options.likelihood ? ['sample', 'likelihood'] : ['sample'];
    const runner = await rt.loadOrtRunner(exportDir, { executionProvider: options.executionProvider, purposes, intraOpNumThreads: options.intraOpNumThreads });
    if (!bareExport) await attachJacobiPlan(runner, checkpointDir).catch(async (e) => {
      await runner.dispose();
      throw e;
    });
    return {
      runner,
      likelihood: likelihoodIf(options.likelihood, runner),
      runtime: runner.runtime,
      dir: checkpointDir,
      exportDir,
      exported,
      executionProvider: runner.executionProvider,
      close: () => runner.dispose(),
    };
  } catch (e) {
    if (choice === 'onnx' || bareExport) throw e;
    return fallBack(`onnxruntime could not open ${exportDir} (${firstLine(e)})`);
  }
}
