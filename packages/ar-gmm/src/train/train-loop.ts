import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  BatchStream,
  FarmerError,
  readCheckpoint,
  Rng,
  tf,
  writeCheckpoint,
  type Batch,
  type BatchStreamState,
  type CheckpointData,
  type ImageDataset,
  type LoadedCheckpoint,
  type RngState,
  type TensorMap,
} from '@farmer/core';
import { AdamW } from './adamw.js';
import { Ema } from './ema.js';
import { globalNorm } from './loss.js';
import { cosineLr } from './schedule.js';

/**
 * The settings the loop itself reads. `TrainConfig` has them all; other
 * objectives (e.g. @farmer/distill) validate their own config with the same
 * fields and add theirs.
 */
export interface LoopSettings {
  steps: number;
  batchSize: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  gradClip: number | null;
  ema: number | null;
  seed: number;
  checkpointEvery: number;
  evalEvery: number;
  maxNonFinite: number;
  timeBudgetSeconds: number;
}

/** What one gradient computation must return; objectives add their own figures. */
export interface LoopStepResult {
  /** Mean loss of the batch. */
  loss: number;
  /** Gradients of the mean loss, aligned with the objective's variables. The loop disposes them. */
  grads: tf.Tensor[];
}

/** Computes the loss and gradients of a prepared batch: in-process, or across workers. */
export interface LoopEngine<TBatch, TResult extends LoopStepResult> {
  readonly workers: number;
  compute(batch: TBatch): Promise<TResult>;
  /** Called after the update was applied locally, with the same inputs, so replicas stay identical. */
  afterUpdate?(update: { grads: tf.Tensor[]; lr: number; scale: number; skipped: boolean }): Promise<void>;
  dispose(): Promise<void> | void;
}

/** The loop's own figures for a finished step, from which an objective builds its 'step' event. */
export interface LoopStepInfo {
  step: number;
  totalSteps: number;
  lr: number;
  gradNorm: number;
  /** Wall time of this step. */
  seconds: number;
  elapsedSeconds: number;
  etaSeconds: number;
  workers: number;
}

/** Events every objective shares: a skipped (non-finite) step and a written checkpoint. */
export type LoopEvent = { type: 'skip'; step: number; reason: string; inARow: number } | { type: 'checkpoint'; step: number; dir: string };

/**
 * What the loop optimises: its variables, how a data batch becomes a step's
 * input, the gradient engine, the step event, and how its weights and
 * checkpoint look. FARMER's joint likelihood (Trainer) is one instance;
 * @farmer/distill's student regression is another.
 */
export interface TrainObjective<TBatch, TResult extends LoopStepResult, TEvent> {
  /** Trainable variables (AdamW and EMA state are aligned with them) and their checkpoint names. */
  readonly variables: tf.Variable[];
  readonly variableNames: string[];
  /** Checkpoint parts holding the optimizer and EMA state (e.g. 'optimizer', 'ema'). */
  readonly parts: { optimizer: string; ema: string };
  /** Turns a data batch into the step's input. All randomness comes from `rng`, so a resume repeats it. */
  prepare(batch: Batch, rng: Rng, step: number): TBatch;
  /** Starts the gradient engine for one `run()`. */
  startEngine(optimizer: AdamW): Promise<LoopEngine<TBatch, TResult>> | LoopEngine<TBatch, TResult>;
  /** The event of a finite step. */
  stepEvent(info: LoopStepInfo, batch: TBatch, result: TResult): TEvent;
  /** Periodic evaluation (every `evalEvery` steps and at the end, unless stopped by a signal). */
  evaluate?(): Promise<unknown>;
  /** Current weights in checkpoint layout (also called with the EMA weights swapped in). */
  weightsToTensorMap(): TensorMap;
  /** Loads weights written by `weightsToTensorMap` (exact names and shapes). */
  loadWeights(map: TensorMap, file: string): void;
  /** Extra fields of the saved training state (e.g. the last evaluation). */
  stateExtras?(): Record<string, unknown>;
  /** The checkpoint to write: config (kind, model, `training` = `state`, meta) and tensor parts. */
  checkpointData(c: { state: Record<string, unknown>; weights: TensorMap; optimizer: TensorMap; ema?: TensorMap }): CheckpointData;
}

/** The loop's part of config.json's `training` field. */
export interface LoopState<TConfig> {
  step: number;
  trainConfig: TConfig;
  data: BatchStreamState;
  rng: RngState;
  nonFiniteInARow: number;
  elapsedSeconds: number;
  emaUpdates?: number;
  workers?: number;
}

export interface TrainLoopOptions<TConfig extends LoopSettings, TEvent> {
  /** Validated settings; saved whole in the checkpoint as `trainConfig`. */
  config: TConfig;
  train: ImageDataset;
  /** Run directory: `checkpoint/` (atomic) and `metrics.jsonl`. No files without it. */
  outDir?: string;
  onEvent?: (e: TEvent | LoopEvent) => void;
  /** Abort: stop after the current step and write a checkpoint. */
  signal?: AbortSignal;
  /** Stop cleanly (with a checkpoint) on SIGINT/SIGTERM. */
  handleSignals?: boolean;
}

export interface LoopSummary {
  steps: number;
  stoppedBy: 'done' | 'signal' | 'time-budget';
  finalLoss: number;
  checkpoint?: string;
  elapsedSeconds: number;
}

/** Where a run keeps its checkpoint. */
export function checkpointDirOf(outDir: string): string {
  return join(outDir, 'checkpoint');
}

/**
 * The optimisation loop shared by every objective: AdamW with cosine LR and
 * warm-up, global-norm clipping, optional EMA, a non-finite guard, atomic
 * checkpoints (every N steps, at the end, on SIGINT/SIGTERM or abort) that
 * resume the exact run (weights, optimizer, EMA, step, data order, RNG),
 * JSONL metrics and events.
 */
export class TrainLoop<TConfig extends LoopSettings, TBatch, TResult extends LoopStepResult, TEvent extends { type: string; step: number }> {
  readonly config: TConfig;
  readonly optimizer: AdamW;
  readonly ema?: Ema;
  private readonly stream: BatchStream;
  private readonly rng: Rng;
  private step = 0;
  private nonFinite = 0;
  private elapsed = 0;
  private engineWorkers = 1;
  private stopReason?: 'signal';
  private pendingMetrics: string[] = [];

  constructor(
    readonly objective: TrainObjective<TBatch, TResult, TEvent>,
    private readonly opts: TrainLoopOptions<TConfig, TEvent>,
  ) {
    const c = (this.config = opts.config);
    this.stream = new BatchStream(opts.train, { batchSize: c.batchSize, seed: `data:${c.seed}` });
    this.rng = new Rng(`train:${c.seed}`);
    const names = objective.variableNames;
    const vars = objective.variables;
    this.optimizer = new AdamW(names, vars, { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay });
    this.ema = c.ema !== null ? new Ema(names, vars, c.ema) : undefined;
  }

  get currentStep(): number {
    return this.step;
  }

  /** Replicas of the last run's engine (1 before any run). */
  get workers(): number {
    return this.engineWorkers;
  }

  get outDir(): string | undefined {
    return this.opts.outDir;
  }

  /** Reads the checkpoint of the run in `outDir` for a resume; refuses a directory without one. */
  static async readRun(outDir: string): Promise<LoadedCheckpoint> {
    const dir = checkpointDirOf(outDir);
    if (!existsSync(join(dir, 'config.json'))) {
      throw new FarmerError('FARMER_E_NOT_FOUND', `nothing to resume: ${dir} holds no checkpoint (start a new run without --resume)`, { file: dir });
    }
    return readCheckpoint(dir);
  }

  /** The training state of a run's checkpoint; refuses one without it or without the optimizer part. */
  static stateOf(ck: LoadedCheckpoint, optimizerPart: string, dir = ck.dir): LoopState<Record<string, unknown>> & Record<string, unknown> {
    const state = ck.config.training as (LoopState<Record<string, unknown>> & Record<string, unknown>) | undefined;
    if (!state || typeof state.step !== 'number' || !ck.tensors[optimizerPart]) {
      throw new FarmerError('FARMER_E_CORRUPT', `${dir} has no training state (optimizer, step); it cannot be resumed`, { file: dir });
    }
    return state;
  }

  /** Restores optimizer, EMA, step, data order and RNG from a run's checkpoint (see `readRun`, `stateOf`). */
  async restore(ck: LoadedCheckpoint, state: LoopState<unknown>, dir = ck.dir): Promise<void> {
    const { optimizer: optPart, ema: emaPart } = this.objective.parts;
    this.optimizer.loadStateTensorMap(ck.tensors[optPart], join(dir, `${optPart}.safetensors`));
    if (this.ema) {
      if (!ck.tensors[emaPart]) throw new FarmerError('FARMER_E_CORRUPT', `${dir} has no ${emaPart}.safetensors but the run uses EMA`, { file: dir });
      const vars = this.objective.variables;
      const live = vars.map((v) => tf.keep(v.clone()));
      this.objective.loadWeights(ck.tensors[emaPart], join(dir, `${emaPart}.safetensors`));
      this.ema.set(vars);
      this.ema.updates = state.emaUpdates ?? 0;
      vars.forEach((v, i) => v.assign(live[i]));
      tf.dispose(live);
    }
    this.step = state.step;
    this.nonFinite = state.nonFiniteInARow;
    this.elapsed = state.elapsedSeconds;
    this.stream.setState(state.data);
    this.rng.setState(state.rng);
    if (this.opts.outDir) await truncateMetrics(join(this.opts.outDir, 'metrics.jsonl'), state.step);
  }

  /** Records an event: to `onEvent` and (with an outDir) metrics.jsonl. */
  emit(e: TEvent | LoopEvent): void {
    this.opts.onEvent?.(e);
    if (this.opts.outDir) this.pendingMetrics.push(JSON.stringify(e));
  }

  private async flushMetrics(): Promise<void> {
    if (!this.opts.outDir || !this.pendingMetrics.length) return;
    await fs.mkdir(this.opts.outDir, { recursive: true });
    await fs.appendFile(join(this.opts.outDir, 'metrics.jsonl'), this.pendingMetrics.map((l) => `${l}\n`).join(''));
    this.pendingMetrics = [];
  }

  /** Runs `fn` on the weights that ship: the EMA when on, else the live ones. */
  async withEvalWeights<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.ema ? this.ema.withWeights(fn) : fn();
  }

  /** Writes the run's checkpoint atomically (no-op without outDir). */
  async checkpoint(): Promise<string | undefined> {
    if (!this.opts.outDir) return undefined;
    const dir = checkpointDirOf(this.opts.outDir);
    const state: LoopState<TConfig> & Record<string, unknown> = {
      step: this.step,
      trainConfig: this.config,
      data: this.stream.state(),
      rng: this.rng.state(),
      nonFiniteInARow: this.nonFinite,
      elapsedSeconds: this.elapsed,
      emaUpdates: this.ema?.updates,
      workers: this.engineWorkers,
      ...this.objective.stateExtras?.(),
    };
    const ema = this.ema ? await this.ema.withWeights(() => this.objective.weightsToTensorMap()) : undefined;
    await writeCheckpoint(
      dir,
      this.objective.checkpointData({ state, weights: this.objective.weightsToTensorMap(), optimizer: this.optimizer.stateToTensorMap(), ema }),
    );
    this.emit({ type: 'checkpoint', step: this.step, dir });
    await this.flushMetrics();
    return dir;
  }

  /** Runs until `steps`, the time budget, an abort or a signal; always ends with a checkpoint. */
  async run(): Promise<LoopSummary> {
    const c = this.config;
    const obj = this.objective;
    const engine = await obj.startEngine(this.optimizer);
    this.engineWorkers = engine.workers;
    const onSignal = () => {
      this.stopReason = 'signal';
    };
    if (this.opts.handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    let stoppedBy: LoopSummary['stoppedBy'] = 'done';
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
        const norm = globalNorm(r.grads);
        const finite = Number.isFinite(r.loss) && Number.isFinite(norm);
        const scale = finite && c.gradClip !== null && norm > c.gradClip ? c.gradClip / norm : 1;
        if (finite) {
          const grads = scale === 1 ? r.grads : r.grads.map((g) => tf.mul(g, scale));
          this.optimizer.apply(grads, lr);
          if (grads !== r.grads) tf.dispose(grads);
          this.ema?.update();
          this.nonFinite = 0;
        } else {
          this.nonFinite++;
        }
        await engine.afterUpdate?.({ grads: r.grads, lr, scale, skipped: !finite });
        tf.dispose(r.grads);
        this.step++;
        this.elapsed = elapsedAtStart + (performance.now() - runStart) / 1000;
        const dt = (performance.now() - t0) / 1000;
        if (!finite) {
          const reason = `loss ${r.loss}, gradient norm ${norm}`;
          this.emit({ type: 'skip', step: this.step, reason, inARow: this.nonFinite });
          if (this.nonFinite >= c.maxNonFinite) {
            await this.flushMetrics();
            throw new FarmerError(
              'FARMER_E_NON_FINITE',
              `training stopped: ${this.nonFinite} steps in a row had a non-finite loss or gradient (last: ${reason}) at step ${this.step}. ` +
                `The last good checkpoint is untouched. Lower the learning rate, enable gradClip, or set alphaClamp in the flow config.`,
              { step: this.step },
            );
          }
        } else {
          finalLoss = r.loss;
          const done = this.step - stepsAtStart;
          const rate = done / Math.max(1e-9, this.elapsed - elapsedAtStart);
          const info: LoopStepInfo = {
            step: this.step,
            totalSteps: c.steps,
            lr,
            gradNorm: norm,
            seconds: dt,
            elapsedSeconds: this.elapsed,
            etaSeconds: (c.steps - this.step) / rate,
            workers: engine.workers,
          };
          this.emit(obj.stepEvent(info, batch, r));
        }
        if (obj.evaluate && c.evalEvery && this.step % c.evalEvery === 0 && this.step < c.steps) await obj.evaluate();
        if (c.checkpointEvery && this.step % c.checkpointEvery === 0 && this.step < c.steps) await this.checkpoint();
        else if (this.pendingMetrics.length >= 50) await this.flushMetrics();
        // Let signal handlers and I/O run between steps.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (obj.evaluate && stoppedBy !== 'signal') await obj.evaluate();
      const checkpoint = await this.checkpoint();
      await this.flushMetrics();
      return { steps: this.step, stoppedBy, finalLoss, checkpoint, elapsedSeconds: this.elapsed };
    } finally {
      if (this.opts.handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      await engine.dispose();
    }
  }

  /** Frees optimizer and EMA state (not the objective's weights, which their owner holds). */
  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
  }
}

/** Drops metrics lines after `step`, so that a resumed run does not repeat them. */
async function truncateMetrics(file: string, step: number): Promise<void> {
  if (!existsSync(file)) return;
  const lines = (await fs.readFile(file, 'utf8')).split('\n').filter(Boolean);
  const keep = lines.filter((l) => {
    try {
      return (JSON.parse(l) as { step: number }).step <= step;
    } catch {
      return false;
    }
  });
  await fs.writeFile(file, keep.map((l) => `${l}\n`).join(''));
}
