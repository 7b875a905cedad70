import { join, resolve } from 'node:path';
import {
  BatchStream,
  FarmerError,
  readCheckpoint,
  recoverInterruptedWrite,
  Rng,
  writeCheckpoint,
  type BatchStreamState,
  type CheckpointData,
  type ImageDataset,
  type LoadedCheckpoint,
  type RngState,
  type TensorMap,
} from '@farmer/core';
import type { EngineFactory, EngineState, TrainEngine } from './engine.js';
import { MetricsLog } from './metrics-log.js';
import type { Objective, ObjectiveTypes } from './objective.js';
import { optimizerFromTensorMap, optimizerToTensorMap } from './optimizer-part.js';
import { checkData } from './check-data.js';
import { checkpointDirOf, holdsRun, prepareOutDir, runExists } from './out-dir.js';
import { cosineLr } from './schedule.js';

/** Fields of every step event, around the objective's own. */
export interface StepInfo {
  type: 'step';
  step: number;
  totalSteps: number;
  /** Mean loss of the batch. */
  loss: number;
  lr: number;
  gradNorm: number;
  imagesPerSec: number;
  elapsedSeconds: number;
  etaSeconds: number;
  workers: number;
  /** Intra-op threads per replica (onnxruntime). */
  threads?: number;
  /** The engine that computed the step ('tfjs', 'ort'). */
  engine: string;
}

/** Events every objective shares: a skipped (non-finite) step and a written checkpoint. */
export type LoopEvent = { type: 'skip'; step: number; reason: string; inARow: number } | { type: 'checkpoint'; step: number; dir: string };

/** A held-out evaluation, on the weights that ship (EMA when on). */
export type EvalEvent<TEval> = { type: 'eval'; step: number; weights: 'ema' | 'live' } & TEval;

/** One line of metrics.jsonl, and the `onEvent` payload. */
export type RunEvent<T extends ObjectiveTypes> = (StepInfo & T['step']) | EvalEvent<T['eval']> | LoopEvent;

/** The run's part of config.json's `training` field. */
export interface RunState<TConfig> {
  /** The objective's id ('farmer', 'distill'); absent in runs written before it was recorded. */
  objective?: string;
  step: number;
  trainConfig: TConfig;
  data: BatchStreamState;
  rng: RngState;
  nonFiniteInARow: number;
  elapsedSeconds: number;
  emaUpdates?: number;
  /**
   * Data-parallel replicas of the engine that wrote the checkpoint. Before
   * 0.2.0 an 'ort' checkpoint without `threads` recorded its intra-op threads here.
   */
  workers?: number;
  /** Intra-op threads per replica (onnxruntime engines; absent before 0.2.0). */
  threads?: number;
  /** The engine that wrote the checkpoint. */
  engine?: string;
  lastEval?: Record<string, unknown> & { step: number };
}

/** Options of a {@link TrainingRun}: data, the run directory, events, abort, signal handling, the engine and `force`. */
export interface TrainingRunOptions<T extends ObjectiveTypes> {
  train: ImageDataset;
  /** Held-out data for the periodic evaluation (every `evalEvery` steps and at the end). */
  test?: ImageDataset;
  /** Run directory: `checkpoint/` (atomic) and `metrics.jsonl`. No files without it. */
  outDir?: string;
  /** Called with every event as it happens (also appended to `metrics.jsonl`). */
  onEvent?: (e: RunEvent<T>) => void;
  /** Abort: stop after the current step and write a checkpoint. */
  signal?: AbortSignal;
  /** Stop cleanly (with a checkpoint) on SIGINT/SIGTERM. */
  handleSignals?: boolean;
  /** The engine (default: the objective's in-process tfjs engine). */
  engine?: EngineFactory<T['batch'], T['figures']>;
  /**
   * A new run only: start over in an `outDir` that holds a run (its
   * checkpoint is replaced at the first write, its metrics.jsonl restarted),
   * or whose `checkpoint/` holds anything else (replaced likewise).
   */
  force?: boolean;
}

/** How a training run ended: steps, why it stopped, final loss, the last evaluation, the checkpoint, time and engine. */
export interface RunSummary<TEval> {
  steps: number;
  stoppedBy: 'done' | 'signal' | 'time-budget';
  finalLoss: number;
  /** The last evaluation, with the step it was made at. */
  lastEval?: TEval & { step: number };
  checkpoint?: string;
  elapsedSeconds: number;
  /** The engine that ran the steps ('tfjs', 'ort'), its data-parallel replicas and (onnxruntime) intra-op threads per replica. */
  engine: string;
  workers: number;
  threads?: number;
}

/**
 * A training run of one objective (docs/method.md §6 training): AdamW with
 * cosine LR and warm-up, global-norm clipping, optional EMA, a non-finite
 * guard, periodic held-out evaluation on the weights that ship,
 * atomic checkpoints (every N steps, at the end, on SIGINT/SIGTERM or abort)
 * that resume the exact run (weights, optimizer, EMA, step, data order,
 * RNG), JSONL metrics and events. The engine computes; the run decides.
 *
 * `create` starts a new run (refusing a directory that already holds one,
 * and checking that the output location is writable before any step);
 * `resume` continues the run in a directory.
 */
export class TrainingRun<T extends ObjectiveTypes> {
  readonly config: T['config'];
  private readonly stream: BatchStream;
  private readonly rng: Rng;
  private readonly metrics?: MetricsLog;
  private step = 0;
  private nonFinite = 0;
  private elapsed = 0;
  private engineName = 'tfjs';
  private engineWorkers = 1;
  private engineThreads?: number;
  private stopReason?: 'signal';
  /** The trained state between runs (or the initial one); the live engine's is authoritative while it runs. */
  private state: EngineState;
  private engine?: TrainEngine<T['batch'], T['figures']>;
  private lastEval?: T['eval'] & { step: number };

  private constructor(
    readonly objective: Objective<T>,
    private readonly opts: TrainingRunOptions<T>,
    initial: EngineState,
  ) {
    const c = (this.config = objective.config);
    checkData(objective, opts.train, 'training');
    if (opts.test) checkData(objective, opts.test, 'test');
    if (opts.outDir) {
      prepareOutDir(opts.outDir, { force: opts.force });
      this.metrics = new MetricsLog(join(opts.outDir, 'metrics.jsonl'));
    }
    this.stream = new BatchStream(opts.train, { batchSize: c.batchSize, seed: `data:${c.seed}` });
    this.rng = new Rng(`train:${c.seed}`);
    this.state = initial;
  }

  /** A new run from the objective's current weights; an `outDir` holding a run is refused unless `force`. */
  static create<T extends ObjectiveTypes>(objective: Objective<T>, opts: TrainingRunOptions<T>): TrainingRun<T> {
    if (opts.outDir && holdsRun(opts.outDir) && !opts.force) throw runExists(opts.outDir);
    const run = new TrainingRun(objective, opts, { weights: objective.values() });
    // Starting over: the old run's lines would precede this one's.
    if (opts.force) run.metrics?.clear();
    return run;
  }

  /**
   * Reads the checkpoint of the run in `outDir` and its state, for resuming
   * it; refuses a directory without one. As the run's writer, it first puts
   * back a checkpoint that a dead process left stranded between the two
   * renames of its write.
   */
  static async readRun(outDir: string): Promise<{ ck: LoadedCheckpoint; state: RunState<Record<string, unknown>> }> {
    const dir = checkpointDirOf(outDir);
    if (!holdsRun(outDir)) {
      throw new FarmerError('FARMER_E_NOT_FOUND', `nothing to resume: ${dir} holds no checkpoint (start a new run without --resume)`, { file: dir });
    }
    await recoverInterruptedWrite(resolve(dir));
    const ck = await readCheckpoint(dir);
    const state = ck.config.training as RunState<Record<string, unknown>> | undefined;
    if (!state || typeof state.step !== 'number') {
      throw new FarmerError('FARMER_E_CORRUPT', `${dir} has no training state (optimizer, step); it cannot be resumed`, { file: dir });
    }
    return { ck, state };
  }

  /**
   * Resumes the run in `outDir`: `open` builds the objective from the
   * run's checkpoint and state (its weights loaded, its config the saved one
   * with any overrides); optimizer, EMA, step, data order and RNG are then
   * restored here.
   */
  static async resume<T extends ObjectiveTypes>(
    outDir: string,
    open: (ck: LoadedCheckpoint, state: RunState<Record<string, unknown>>) => Objective<T> | Promise<Objective<T>>,
    opts: Omit<TrainingRunOptions<T>, 'outDir'>,
  ): Promise<TrainingRun<T>> {
    const { ck, state } = await TrainingRun.readRun(outDir);
    const dir = checkpointDirOf(outDir);
    const objective = await open(ck, state);
    const { optimizer: optPart, ema: emaPart } = objective.parts;
    if (!ck.tensors[optPart]) throw new FarmerError('FARMER_E_CORRUPT', `${dir} has no training state (optimizer, step); it cannot be resumed`, { file: dir });
    const initial: EngineState = { weights: objective.values(), optimizer: optimizerFromTensorMap(objective.params, ck.tensors[optPart], join(dir, `${optPart}.safetensors`)) };
    if (objective.config.ema !== null) {
      if (!ck.tensors[emaPart]) throw new FarmerError('FARMER_E_CORRUPT', `${dir} has no ${emaPart}.safetensors but the run uses EMA`, { file: dir });
      initial.ema = { weights: objective.fromTensorMap(ck.tensors[emaPart], join(dir, `${emaPart}.safetensors`)), updates: state.emaUpdates ?? 0 };
    }
    // A resumed run continues its own checkpoint: there is nothing to force.
    const run = new TrainingRun(objective, { ...opts, outDir, force: false }, initial);
    run.step = state.step;
    run.nonFinite = state.nonFiniteInARow;
    run.elapsed = state.elapsedSeconds;
    run.stream.setState(state.data);
    run.rng.setState(state.rng);
    run.lastEval = state.lastEval as (T['eval'] & { step: number }) | undefined;
    await run.metrics?.truncateAfter(state.step);
    return run;
  }

  /** The step the run has reached. */
  get currentStep(): number {
    return this.step;
  }

  /** Data-parallel replicas of the last run's engine (1 before any run). */
  get workers(): number {
    return this.engineWorkers;
  }

  /** The run directory, if the run writes files. */
  get outDir(): string | undefined {
    return this.opts.outDir;
  }

  /** A copy of the trained state now (weights, optimizer, EMA): the running engine's, else the last run's. */
  async trainedState(): Promise<EngineState> {
    if (this.engine) this.state = await this.engine.state();
    return this.state;
  }

  /** Records an event: to `onEvent` and (with an outDir) metrics.jsonl. */
  private emit(e: RunEvent<T>): void {
    this.opts.onEvent?.(e);
    this.metrics?.append(e);
  }

  /**
   * Runs `fn` with the weights that ship (the EMA when on, else the live
   * ones) loaded into the objective's model, then puts the live ones back.
   */
  async withEvalWeights<R>(fn: () => Promise<R> | R): Promise<R> {
    const s = await this.trainedState();
    // An engine that keeps its own weights (the onnxruntime one holds host arrays) leaves the
    // objective's model at its initial values, so load the live weights too when there is no EMA.
    if (!s.ema) {
      this.objective.load(s.weights);
      return fn();
    }
    this.objective.load(s.ema.weights);
    try {
      return await fn();
    } finally {
      this.objective.load(s.weights);
    }
  }

  /** Held-out evaluation on the weights that ship, as an 'eval' event; undefined without test data or an evaluator. */
  async evaluate(maxImages = this.config.evalImages): Promise<T['eval'] | undefined> {
    const test = this.opts.test;
    const evaluate = this.objective.evaluate?.bind(this.objective);
    if (!test || !evaluate) return undefined;
    const s = await this.trainedState();
    const r = await this.withEvalWeights(() => evaluate(test, { maxImages, seed: this.config.seed, signal: this.opts.signal }));
    this.lastEval = { ...r, step: this.step };
    this.emit({ type: 'eval', step: this.step, weights: s.ema ? 'ema' : 'live', ...r } as RunEvent<T>);
    return r;
  }

  /** Writes the run's checkpoint atomically (no-op without outDir). */
  async checkpoint(): Promise<string | undefined> {
    if (!this.opts.outDir) return undefined;
    const dir = checkpointDirOf(this.opts.outDir);
    const s = await this.trainedState();
    const o = this.objective;
    const training: RunState<T['config']> = {
      objective: o.id,
      step: this.step,
      trainConfig: this.config,
      data: this.stream.state(),
      rng: this.rng.state(),
      nonFiniteInARow: this.nonFinite,
      elapsedSeconds: this.elapsed,
      emaUpdates: s.ema?.updates,
      workers: this.engineWorkers,
      threads: this.engineThreads,
      engine: this.engineName,
      lastEval: this.lastEval,
    };
    const { config, tensors } = o.checkpoint(training as unknown as Record<string, unknown>, this.step);
    const parts: Record<string, TensorMap> = {
      ...tensors,
      [o.parts.weights]: o.toTensorMap(s.weights),
      [o.parts.optimizer]: optimizerToTensorMap(o.params, s.optimizer ?? zeroOptimizer(s.weights)),
      ...(s.ema ? { [o.parts.ema]: o.toTensorMap(s.ema.weights) } : {}),
    };
    // Every objective's checkpoint has a `model` part (FARMER's weights, or a distillation's teacher); writeCheckpoint checks it.
    await writeCheckpoint(dir, { config, tensors: parts as CheckpointData['tensors'] }, { force: this.opts.force });
    this.emit({ type: 'checkpoint', step: this.step, dir });
    return dir;
  }

  /** Runs until `steps`, the time budget, an abort or a signal; always ends with a checkpoint. */
  async run(): Promise<RunSummary<T['eval']>> {
    const c = this.config;
    const obj = this.objective;
    const factory = this.opts.engine ?? obj.defaultEngine();
    const engine = await factory({ params: obj.params, state: this.state, adamw: { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay }, ema: c.ema });
    this.engine = engine;
    this.engineName = engine.name;
    this.engineWorkers = engine.workers;
    this.engineThreads = engine.threads;
    const onSignal = () => {
      this.stopReason = 'signal';
    };
    if (this.opts.handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    let stoppedBy: RunSummary<T['eval']>['stoppedBy'] = 'done';
    let finalLoss = NaN;
    const runStart = performance.now();
    const elapsedAtStart = this.elapsed;
    const stepsAtStart = this.step;
    try {
      while (this.step < c.steps) {
        if (this.stopReason || this.opts.signal?.aborted) {
          stoppedBy = 'signal';
          break;
        }
        if (c.timeBudgetSeconds > 0 && this.elapsed >= c.timeBudgetSeconds) {
          stoppedBy = 'time-budget';
          break;
        }
        const t0 = performance.now();
        const batch = obj.prepare(this.stream.next(), this.rng, this.step);
        const lr = cosineLr(this.step, c.steps, c.lr, c.warmupSteps, c.minLr);
        const r = await engine.compute(batch);
        const finite = Number.isFinite(r.loss) && Number.isFinite(r.gradNorm);
        const scale = finite && c.gradClip !== null && r.gradNorm > c.gradClip ? c.gradClip / r.gradNorm : 1;
        await engine.apply({ lr, scale, skipped: !finite });
        this.nonFinite = finite ? 0 : this.nonFinite + 1;
        this.step++;
        this.elapsed = elapsedAtStart + (performance.now() - runStart) / 1000;
        const dt = (performance.now() - t0) / 1000;
        if (!finite) {
          const reason = `loss ${r.loss}, gradient norm ${r.gradNorm}`;
          this.emit({ type: 'skip', step: this.step, reason, inARow: this.nonFinite });
          if (this.nonFinite >= c.maxNonFinite) {
            throw new FarmerError(
              'FARMER_E_NON_FINITE',
              `training stopped: ${this.nonFinite} steps in a row had a non-finite loss or gradient (last: ${reason}) at step ${this.step}. ` +
                `The last good checkpoint is untouched. Lower the learning rate, enable gradClip, or set alphaClamp in the flow config.`,
              { step: this.step },
            );
          }
        } else {
          finalLoss = r.loss;
          const rate = (this.step - stepsAtStart) / Math.max(1e-9, this.elapsed - elapsedAtStart);
          const info: StepInfo = {
            type: 'step',
            step: this.step,
            totalSteps: c.steps,
            loss: r.loss,
            lr,
            gradNorm: r.gradNorm,
            imagesPerSec: obj.batchSize(batch) / dt,
            elapsedSeconds: this.elapsed,
            etaSeconds: (c.steps - this.step) / rate,
            workers: engine.workers,
            threads: engine.threads,
            engine: engine.name,
          };
          const { type, step, totalSteps, loss, ...rest } = info;
          this.emit({ type, step, totalSteps, loss, ...obj.stepFields(batch, r.figures, r.loss), ...rest } as RunEvent<T>);
        }
        if (c.evalEvery && this.step % c.evalEvery === 0 && this.step < c.steps) await this.evaluate();
        if (c.checkpointEvery && this.step % c.checkpointEvery === 0 && this.step < c.steps) await this.checkpoint();
        // Let signal handlers and I/O run between steps.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (stoppedBy !== 'signal') await this.evaluate();
      const checkpoint = await this.checkpoint();
      return { steps: this.step, stoppedBy, finalLoss, lastEval: this.lastEval, checkpoint, elapsedSeconds: this.elapsed, engine: engine.name, workers: engine.workers, threads: engine.threads };
    } finally {
      if (this.opts.handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      try {
        this.state = await engine.state();
        // The objective's model holds the live weights after a run, whatever engine trained them.
        this.objective.load(this.state.weights);
      } catch {
        // A failed engine keeps the last state read; the run's own error is the one to report.
      } finally {
        this.engine = undefined;
        await engine.dispose();
      }
    }
  }
}


function zeroOptimizer(weights: Float32Array[]): NonNullable<EngineState['optimizer']> {
  return { m: weights.map((w) => new Float32Array(w.length)), v: weights.map((w) => new Float32Array(w.length)), step: 0 };
}
