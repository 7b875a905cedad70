import { availableParallelism } from 'node:os';
import { describeOrtNodeLoadFailure, FarmerError } from '@farmer/core';
import { farmerTfEngine, type FarmerConfig, type FarmerEngine, type FarmerModel } from '@farmer/ar-gmm';
import type { EngineFactory } from '@farmer/train';
import type { FlowConfig } from '@farmer/flow';
import { defaultWorkerCount } from '@farmer/train';
import { distillGradientCoverage } from './distill-graph.js';
import { farmerGradientCoverage, type GradientCoverage } from './gradient-graph.js';
import { loadOrtRuntime, type OrtRuntime } from './ort-runtime-loader.js';

/** The training engines a user can ask for: `auto` picks onnxruntime where it loads and covers the model, else tfjs. */
export const TRAIN_ENGINES = ['auto', 'ort', 'tfjs'] as const;
/** A training engine a user can ask for, one of {@link TRAIN_ENGINES}. */
export type TrainEngineChoice = (typeof TRAIN_ENGINES)[number];

/** The engine a choice resolved to, and its layout. */
export interface ChosenEngine<E> {
  engine: E;
  name: 'ort' | 'tfjs';
  /** Data-parallel replicas: this thread plus `workers − 1` worker threads, each with its own session or backend. */
  workers: number;
  /** onnxruntime intra-op threads of each replica; absent on tfjs (one single-threaded backend per replica). */
  threads?: number;
  /** How the layout was picked, when `auto` picked it (one line, for the user). */
  layout?: string;
  /** Why `auto` fell back to tfjs (one line, for the user). */
  notice?: string;
}

/** Options of {@link chooseTrainEngine}: the layout of replicas and threads. */
export interface EngineChoiceOptions {
  /** Data-parallel replicas, or 'auto' (the default): see {@link autoLayout}. */
  workers?: number | 'auto';
  /** onnxruntime intra-op threads per replica (default: the cores shared out among the replicas); tfjs has none. */
  threads?: number;
}

/** Machine facts the layout rule reads (a seam for tests). */
export interface MachineFacts {
  cores: number;
}

/**
 * The `auto` layout of the onnxruntime engine: one single-threaded replica
 * per core. Measured on mnist-small with `npm run bench -- train` (see
 * its "engines" table): two 1-thread replicas ran 1.59× one replica, where one
 * session with two intra-op threads ran 1.11×, because a step's kernels are
 * too small for onnxruntime's intra-op split to keep a second thread busy,
 * while a replica's work is a whole shard. On tfjs the replicas are
 * `defaultWorkerCount()` (the cores on wasm/cpu).
 */
export function autoLayout(m: MachineFacts = { cores: availableParallelism() }): { workers: number; threads: number; layout: string } {
  const workers = Math.max(1, m.cores);
  return { workers, threads: 1, layout: 'auto: one single-threaded replica per core, which scales better than intra-op threads here; see npm run bench -- train' };
}

/** Checks a layout option: a positive integer (or 'auto' for workers). */
function checkLayout(o: EngineChoiceOptions): void {
  if (o.workers !== undefined && o.workers !== 'auto' && !(Number.isInteger(o.workers) && o.workers >= 1)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `workers must be a positive integer or 'auto', got ${o.workers}`, { field: 'workers' });
  }
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `threads must be a positive integer, got ${o.threads}`, { field: 'threads' });
  }
}

/** What a choice picks between, for one objective. */
export interface EngineCandidates<E> {
  /** Which ops of the objective's gradient graph lack a rule (computed without running anything). */
  coverage: () => GradientCoverage;
  /** The objective, for messages ("this model"). */
  what: string;
  /** Makes the onnxruntime engine with that layout. */
  ort: (rt: OrtRuntime, layout: { workers: number; threads: number }) => E;
  /** Makes the tfjs engine with that many replicas. */
  tfjs: (workers: number) => E;
  /** How onnxruntime-node is loaded: an Error when it cannot be (a seam for tests). */
  loadRuntime?: () => Promise<OrtRuntime | Error>;
  /** The machine the layout rule reads (default: this one). */
  machine?: MachineFacts;
}

/**
 * Resolves an engine choice (see TRAIN_ENGINES): `tfjs` as asked; `ort` or
 * `auto` need onnxruntime-node to load and the gradient builder to cover the
 * objective's graph. An explicit `ort` that cannot run is an error naming
 * why (FARMER_E_UNSUPPORTED with the ops, or FARMER_E_BACKEND); `auto`
 * falls back to tfjs with a one-line notice saying why.
 */
export async function chooseTrainEngine<E>(choice: TrainEngineChoice, c: EngineCandidates<E>, o: EngineChoiceOptions = {}): Promise<ChosenEngine<E>> {
  if (!(TRAIN_ENGINES as readonly string[]).includes(choice)) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `unknown training engine '${choice}'; choose one of: ${TRAIN_ENGINES.join(', ')}`, { field: 'engine' });
  }
  checkLayout(o);
  if (choice === 'tfjs' && o.threads !== undefined) {
    throw new FarmerError('FARMER_E_BAD_INPUT', '--threads sets onnxruntime intra-op threads; tfjs replicas run one single-threaded backend each (use --workers)', { field: 'threads' });
  }
  const fallback = (notice?: string): ChosenEngine<E> => {
    const workers = o.workers === undefined || o.workers === 'auto' ? defaultWorkerCount() : o.workers;
    return { engine: c.tfjs(workers), name: 'tfjs', workers, notice };
  };
  if (choice === 'tfjs') return fallback();
  const cov = c.coverage();
  if (!cov.supported) {
    const ops = cov.unsupportedOps.join(', ');
    if (choice === 'ort') {
      throw new FarmerError('FARMER_E_UNSUPPORTED', `the onnxruntime training engine cannot differentiate ${c.what}: no gradient rule for op ${ops}; train with --engine tfjs`, { field: 'engine', ops: cov.unsupportedOps });
    }
    return fallback(`training on tfjs: onnxruntime's gradient builder does not cover op ${ops} of ${c.what}`);
  }
  const rt = await (c.loadRuntime ?? loadOrtRuntime)();
  if (rt instanceof Error) {
    const why = describeOrtNodeLoadFailure(rt);
    if (choice === 'ort') throw new FarmerError('FARMER_E_BACKEND', `--engine ort needs onnxruntime-node: ${why}`, { field: 'engine' }, { cause: rt });
    return fallback(`training on tfjs: ${why}`);
  }
  const machine = c.machine ?? { cores: availableParallelism() };
  if (o.workers === undefined || o.workers === 'auto') {
    const auto = autoLayout(machine);
    const threads = o.threads ?? auto.threads;
    return { engine: c.ort(rt, { workers: auto.workers, threads }), name: 'ort', workers: auto.workers, threads, layout: auto.layout };
  }
  const threads = o.threads ?? Math.max(1, Math.floor(machine.cores / o.workers));
  return { engine: c.ort(rt, { workers: o.workers, threads }), name: 'ort', workers: o.workers, threads };
}

/** Resolves `--engine` for FARMER training (see TRAIN_ENGINES). An explicit `ort` that cannot run is an error naming why. */
export function chooseFarmerEngine(choice: TrainEngineChoice, config: FarmerConfig, o: EngineChoiceOptions = {}): Promise<ChosenEngine<FarmerEngine>> {
  return chooseTrainEngine(
    choice,
    { coverage: () => farmerGradientCoverage(config), what: 'this model', ort: (rt, layout) => rt.farmerOrtEngine(layout), tfjs: (workers) => farmerTfEngine({ workers }) },
    o,
  );
}

/**
 * A distillation engine, typed structurally (the student and the batch are
 * @farmer/distill's, which this package does not import): @farmer/distill's
 * `DistillEngine` is one.
 */
export type DistillEngineLike<TStudent, TBatch> = (teacher: FarmerModel, student: TStudent) => EngineFactory<TBatch, { blockMse: number[] }>;

/** Resolves `--engine` for distillation; the caller supplies the tfjs engine (@farmer/distill's `distillTfEngine()`), which distils on this thread (one replica). */
export async function chooseDistillEngine<TStudent, TBatch>(
  choice: TrainEngineChoice,
  flow: FlowConfig,
  tfjs: DistillEngineLike<TStudent, TBatch>,
  o: EngineChoiceOptions = {},
): Promise<ChosenEngine<DistillEngineLike<TStudent, TBatch>>> {
  const chosen = await chooseTrainEngine<DistillEngineLike<TStudent, TBatch>>(
    choice,
    {
      coverage: () => distillGradientCoverage(flow),
      what: "this model's flow",
      // The ORT batch type is the same structure as @farmer/distill's DistillBatch.
      ort: (rt, layout) => rt.distillOrtEngine(layout) as unknown as DistillEngineLike<TStudent, TBatch>,
      tfjs: () => tfjs,
    },
    { workers: choice === 'tfjs' ? 1 : o.workers, threads: o.threads },
  );
  if (chosen.name === 'ort') return chosen;
  // tfjs distils on this thread only.
  const asked = typeof o.workers === 'number' && o.workers > 1 ? `tfjs distils on one thread; --workers ${o.workers} applies to --engine ort` : undefined;
  return { ...chosen, workers: 1, notice: [chosen.notice, asked].filter(Boolean).join('; ') || undefined };
}

/** Called with the engine a lazy choice resolved to, when a run starts. */
export type OnEngineChosen = (c: { name: 'ort' | 'tfjs'; workers: number; threads?: number; layout?: string; notice?: string }) => void;

/**
 * A FARMER engine that makes `choice` when its run starts, once the model
 * is known (for a resumed run, from the checkpoint): an unsupported explicit
 * `ort` fails there, before the first step.
 */
export function farmerEngineFor(choice: TrainEngineChoice, o: EngineChoiceOptions & { onChosen?: OnEngineChosen } = {}): FarmerEngine {
  return (model) => async (ctx) => {
    const chosen = await chooseFarmerEngine(choice, model.config, o);
    o.onChosen?.(chosen);
    return chosen.engine(model)(ctx);
  };
}

/** The distillation counterpart of `farmerEngineFor`; `tfjs` is @farmer/distill's `distillTfEngine()`. */
export function distillEngineFor<TStudent, TBatch>(
  choice: TrainEngineChoice,
  tfjs: DistillEngineLike<TStudent, TBatch>,
  o: EngineChoiceOptions & { onChosen?: OnEngineChosen } = {},
): DistillEngineLike<TStudent, TBatch> {
  return (teacher, student) => async (ctx) => {
    const chosen = await chooseDistillEngine(choice, teacher.config.flow, tfjs, o);
    o.onChosen?.(chosen);
    return chosen.engine(teacher, student)(ctx);
  };
}

/** The engine fields a checkpoint's run state records (@farmer/train's RunState). */
export interface RecordedLayout {
  engine?: string;
  workers?: number;
  threads?: number;
}

/**
 * The layout a resumed run asks for: the flags where given, else the
 * checkpoint's own, so that `--resume` alone continues the exact run
 * (docs/method.md §6.8 Resume: exact for the same engine and replicas).
 * Before 0.2.0 an 'ort' checkpoint recorded its intra-op threads as
 * `workers` (and no `threads`): it resumes as one replica of that many
 * threads, and the note says so.
 */
export function resumedLayout(recorded: RecordedLayout, asked: EngineChoiceOptions & { engine: TrainEngineChoice }): { options: EngineChoiceOptions; note?: string } {
  const sameEngine = asked.engine === 'auto' || asked.engine === recorded.engine;
  if (!sameEngine || asked.workers !== undefined || asked.threads !== undefined || recorded.workers === undefined) return { options: { workers: asked.workers, threads: asked.threads } };
  if (recorded.engine === 'ort' && recorded.threads === undefined) {
    return {
      options: { workers: 1, threads: recorded.workers },
      note: `this run was written when --workers on the onnxruntime engine meant intra-op threads: resuming as 1 worker × ${recorded.workers} threads (pass --workers/--threads to change it)`,
    };
  }
  return { options: { workers: recorded.workers, threads: recorded.threads } };
}
