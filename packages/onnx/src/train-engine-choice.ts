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

/** The engine a choice resolved to. */
export interface ChosenEngine<E> {
  engine: E;
  name: 'ort' | 'tfjs';
  /**
   * `workers` as the engine reads it: onnxruntime intra-op threads (one
   * session uses every thread), or tfjs data-parallel replicas (one
   * single-threaded backend per worker thread).
   */
  workers: number;
  /** Why `auto` fell back to tfjs (one line, for the user). */
  notice?: string;
}

/** Options of {@link chooseTrainEngine}: the threads (ort) or replicas (tfjs). */
export interface EngineChoiceOptions {
  /** Threads (ort) or replicas (tfjs); default: the available cores (tfjs on the native backend: 1). */
  workers?: number;
}

/** What a choice picks between, for one objective. */
export interface EngineCandidates<E> {
  /** Which ops of the objective's gradient graph lack a rule (computed without running anything). */
  coverage: () => GradientCoverage;
  /** The objective, for messages ("this model"). */
  what: string;
  /** Makes the onnxruntime engine with that many intra-op threads. */
  ort: (rt: OrtRuntime, threads: number) => E;
  /** Makes the tfjs engine with that many replicas. */
  tfjs: (workers: number) => E;
  /** How onnxruntime-node is loaded: an Error when it cannot be (a seam for tests). */
  loadRuntime?: () => Promise<OrtRuntime | Error>;
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
  const fallback = (notice?: string): ChosenEngine<E> => {
    const workers = o.workers ?? defaultWorkerCount();
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
  const threads = o.workers ?? availableParallelism();
  return { engine: c.ort(rt, threads), name: 'ort', workers: threads };
}

/** Resolves `--engine` for FARMER training (see TRAIN_ENGINES). An explicit `ort` that cannot run is an error naming why. */
export function chooseFarmerEngine(choice: TrainEngineChoice, config: FarmerConfig, o: EngineChoiceOptions = {}): Promise<ChosenEngine<FarmerEngine>> {
  return chooseTrainEngine(
    choice,
    { coverage: () => farmerGradientCoverage(config), what: 'this model', ort: (rt, threads) => rt.farmerOrtEngine({ threads }), tfjs: (workers) => farmerTfEngine({ workers }) },
    o,
  );
}

/**
 * A distillation engine, typed structurally (the student and the batch are
 * @farmer/distill's, which this package does not import): @farmer/distill's
 * `DistillEngine` is one.
 */
export type DistillEngineLike<TStudent, TBatch> = (teacher: FarmerModel, student: TStudent) => EngineFactory<TBatch, { blockMse: number[] }>;

/** Resolves `--engine` for distillation; the caller supplies the tfjs engine (@farmer/distill's `distillTfEngine()`), which distils on this thread. */
export function chooseDistillEngine<TStudent, TBatch>(
  choice: TrainEngineChoice,
  flow: FlowConfig,
  tfjs: DistillEngineLike<TStudent, TBatch>,
  o: EngineChoiceOptions = {},
): Promise<ChosenEngine<DistillEngineLike<TStudent, TBatch>>> {
  return chooseTrainEngine<DistillEngineLike<TStudent, TBatch>>(
    choice,
    {
      coverage: () => distillGradientCoverage(flow),
      what: "this model's flow",
      // The ORT batch type is the same structure as @farmer/distill's DistillBatch.
      ort: (rt, threads) => rt.distillOrtEngine({ threads }) as unknown as DistillEngineLike<TStudent, TBatch>,
      tfjs: () => tfjs,
    },
    { workers: o.workers ?? (choice === 'tfjs' ? 1 : undefined) },
  );
}

/** Called with the engine a lazy choice resolved to, when a run starts. */
export type OnEngineChosen = (c: { name: 'ort' | 'tfjs'; workers: number; notice?: string }) => void;

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
