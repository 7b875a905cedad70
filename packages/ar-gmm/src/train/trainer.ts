import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  BatchStream,
  bitsPerDim,
  FarmerError,
  makeCheckpointConfig,
  readCheckpoint,
  Rng,
  tf,
  writeCheckpoint,
  type BatchStreamState,
  type ImageDataset,
  type RngState,
} from '@farmer/core';
import { FARMER_KIND, farmerFromCheckpoint, type FarmerModel } from '../farmer-model.js';
import { AdamW } from './adamw.js';
import { prepareBatch, type PreparedBatch } from './batch-prep.js';
import { Ema } from './ema.js';
import { evaluateBpd, type BpdResult } from './evaluate.js';
import { globalNorm, lossAndGrads } from './loss.js';
import { cosineLr } from './schedule.js';
import type { EngineContext } from './worker-engine.js';
import { parseTrainConfig, type TrainConfig, type TrainConfigInput } from './train-config.js';

/** Computes the mean loss and its gradients for a prepared batch: in-process, or across workers. */
export interface GradientEngine {
  readonly workers: number;
  compute(batch: PreparedBatch): Promise<{ loss: number; logdetPerDim: number; grads: tf.Tensor[] }>;
  /** Called after the update was applied locally, with the same inputs, so replicas stay identical. */
  afterUpdate?(update: { grads: tf.Tensor[]; lr: number; scale: number; skipped: boolean }): Promise<void>;
  dispose(): Promise<void> | void;
}

/** The default engine: one replica, this thread. */
export function localEngine(ctx: EngineContext): GradientEngine {
  return {
    workers: 1,
    compute: async (b) => lossAndGrads(ctx.model, b),
    dispose: () => undefined,
  };
}

/** One line of metrics.jsonl. */
export type TrainEvent =
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      loss: number;
      bpd: number;
      noise: TrainConfig['noise']['mode'];
      sigma: number;
      lr: number;
      gradNorm: number;
      logdetPerDim: number;
      imagesPerSec: number;
      elapsedSeconds: number;
      etaSeconds: number;
      workers: number;
    }
  | { type: 'skip'; step: number; reason: string; inARow: number }
  | ({ type: 'eval'; step: number; weights: 'ema' | 'live' } & BpdResult)
  | { type: 'checkpoint'; step: number; dir: string };

/** The training state saved in config.json's `training` field. */
interface TrainingState {
  step: number;
  trainConfig: TrainConfig;
  data: BatchStreamState;
  rng: RngState;
  nonFiniteInARow: number;
  elapsedSeconds: number;
  lastEval?: BpdResult & { step: number };
  emaUpdates?: number;
  workers?: number;
}

export interface TrainerOptions {
  model: FarmerModel;
  config: TrainConfigInput | TrainConfig;
  train: ImageDataset;
  test?: ImageDataset;
  /** Run directory: `checkpoint/` (atomic) and `metrics.jsonl`. No files without it. */
  outDir?: string;
  onEvent?: (e: TrainEvent) => void;
  /** Abort: stop after the current step and write a checkpoint. */
  signal?: AbortSignal;
  /** Stop cleanly (with a checkpoint) on SIGINT/SIGTERM. */
  handleSignals?: boolean;
  /** Provenance stored in the checkpoint (command line, dataset spec, ...). */
  meta?: Record<string, unknown>;
  /** Gradient engine (default: this thread; see workerEngine for data parallelism). */
  engine?: (ctx: EngineContext) => Promise<GradientEngine> | GradientEngine;
}

export interface TrainSummary {
  steps: number;
  stoppedBy: 'done' | 'signal' | 'time-budget';
  finalLoss: number;
  lastEval?: BpdResult;
  checkpoint?: string;
  elapsedSeconds: number;
}

/** Where a run keeps its checkpoint. */
export function checkpointDirOf(outDir: string): string {
  return join(outDir, 'checkpoint');
}

/**
 * The FARMER trainer (method doc §4): AdamW with cosine LR and warm-up,
 * training noise, label drop, global-norm clipping, EMA, a non-finite guard,
 * atomic checkpoints (every N steps, at the end, on SIGINT/SIGTERM) that
 * resume the exact same run, JSONL metrics and periodic test bits/dim.
 */
export class Trainer {
  readonly config: TrainConfig;
  readonly model: FarmerModel;
  private readonly stream: BatchStream;
  private readonly rng: Rng;
  private readonly opt: AdamW;
  private readonly ema?: Ema;
  private step = 0;
  private nonFinite = 0;
  private elapsed = 0;
  private lastEval?: BpdResult & { step: number };
  private stopReason?: 'signal';

  private constructor(private readonly opts: TrainerOptions) {
    this.config = parseTrainConfig(opts.config);
    this.model = opts.model;
    checkDataset(this.model, opts.train, 'training');
    if (opts.test) checkDataset(this.model, opts.test, 'test');
    this.stream = new BatchStream(opts.train, { batchSize: this.config.batchSize, seed: `data:${this.config.seed}` });
    this.rng = new Rng(`train:${this.config.seed}`);
    const names = this.model.variableNames();
    const vars = this.model.variables();
    const c = this.config;
    this.opt = new AdamW(names, vars, { beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay });
    this.ema = c.ema !== null ? new Ema(names, vars, c.ema) : undefined;
  }

  /** A new run from a freshly built (or pre-trained) model. */
  static create(opts: TrainerOptions): Trainer {
    return new Trainer(opts);
  }

  /**
   * Resumes the run in `outDir` from its checkpoint: weights, optimizer, EMA,
   * step, data order and RNG. `config` may override fields such as `steps`;
   * the model always comes from the checkpoint.
   */
  static async resume(outDir: string, opts: Omit<TrainerOptions, 'model' | 'config' | 'outDir'> & { config?: Partial<TrainConfigInput> }): Promise<Trainer> {
    const dir = checkpointDirOf(outDir);
    if (!existsSync(join(dir, 'config.json'))) {
      throw new FarmerError('FARMER_E_NOT_FOUND', `nothing to resume: ${dir} holds no checkpoint (start a new run without --resume)`, { file: dir });
    }
    const ck = await readCheckpoint(dir);
    if (ck.config.kind !== FARMER_KIND) throw new FarmerError('FARMER_E_BAD_INPUT', `${dir} is a '${ck.config.kind}' checkpoint, not a FARMER training run`, { file: dir });
    const state = ck.config.training as unknown as TrainingState | undefined;
    if (!state || typeof state.step !== 'number' || !ck.tensors.optimizer) {
      throw new FarmerError('FARMER_E_CORRUPT', `${dir} has no training state (optimizer, step); it cannot be resumed`, { file: dir });
    }
    const model = farmerFromCheckpoint(ck, 'model');
    const t = new Trainer({ ...opts, model, outDir, config: { ...state.trainConfig, ...opts.config } });
    t.opt.loadStateTensorMap(ck.tensors.optimizer, join(dir, 'optimizer.safetensors'));
    if (t.ema) {
      if (!ck.tensors.ema) throw new FarmerError('FARMER_E_CORRUPT', `${dir} has no ema.safetensors but the run uses EMA`, { file: dir });
      const live = model.variables().map((v) => tf.keep(v.clone()));
      model.loadTensorMap(ck.tensors.ema, join(dir, 'ema.safetensors'));
      t.ema.set(model.variables());
      t.ema.updates = state.emaUpdates ?? 0;
      model.variables().forEach((v, i) => v.assign(live[i]));
      tf.dispose(live);
    }
    t.step = state.step;
    t.nonFinite = state.nonFiniteInARow;
    t.elapsed = state.elapsedSeconds;
    t.lastEval = state.lastEval;
    t.stream.setState(state.data);
    t.rng.setState(state.rng);
    await truncateMetrics(join(outDir, 'metrics.jsonl'), state.step);
    return t;
  }

  get currentStep(): number {
    return this.step;
  }

  private emit(e: TrainEvent): void {
    this.opts.onEvent?.(e);
    if (this.opts.outDir) this.pendingMetrics.push(JSON.stringify(e));
  }

  private pendingMetrics: string[] = [];

  private async flushMetrics(): Promise<void> {
    if (!this.opts.outDir || !this.pendingMetrics.length) return;
    await fs.mkdir(this.opts.outDir, { recursive: true });
    await fs.appendFile(join(this.opts.outDir, 'metrics.jsonl'), this.pendingMetrics.map((l) => `${l}\n`).join(''));
    this.pendingMetrics = [];
  }

  /** Writes the run's checkpoint atomically (no-op without outDir). */
  async checkpoint(): Promise<string | undefined> {
    if (!this.opts.outDir) return undefined;
    const dir = checkpointDirOf(this.opts.outDir);
    const state: TrainingState = {
      step: this.step,
      trainConfig: this.config,
      data: this.stream.state(),
      rng: this.rng.state(),
      nonFiniteInARow: this.nonFinite,
      elapsedSeconds: this.elapsed,
      lastEval: this.lastEval,
      emaUpdates: this.ema?.updates,
      workers: this.workers,
    };
    const ema = this.ema ? await this.ema.withWeights(() => this.model.toTensorMap()) : undefined;
    await writeCheckpoint(dir, {
      config: makeCheckpointConfig(FARMER_KIND, this.model.config as unknown as Record<string, unknown>, {
        training: state as unknown as Record<string, unknown>,
        meta: this.opts.meta,
      }),
      tensors: { model: this.model.toTensorMap(), optimizer: this.opt.stateToTensorMap(), ...(ema ? { ema } : {}) },
    });
    this.emit({ type: 'checkpoint', step: this.step, dir });
    await this.flushMetrics();
    return dir;
  }

  private workers = 1;

  /** Test bits/dim on the EMA weights when EMA is on (those are the weights that ship). */
  async evaluate(maxImages = this.config.evalImages): Promise<BpdResult | undefined> {
    const test = this.opts.test;
    if (!test) return undefined;
    const run = () => evaluateBpd(this.model, test, { maxImages, seed: this.config.seed });
    const r = this.ema ? await this.ema.withWeights(run) : await run();
    this.lastEval = { ...r, step: this.step };
    this.emit({ type: 'eval', step: this.step, weights: this.ema ? 'ema' : 'live', ...r });
    return r;
  }

  /** Runs until `steps`, the time budget, an abort or a signal; always ends with a checkpoint. */
  async run(): Promise<TrainSummary> {
    const c = this.config;
    const engine = await (this.opts.engine ?? localEngine)({ model: this.model, optimizer: this.opt });
    this.workers = engine.workers;
    const onSignal = () => {
      this.stopReason = 'signal';
    };
    if (this.opts.handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    let stoppedBy: TrainSummary['stoppedBy'] = 'done';
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
        const batch = prepareBatch(this.stream.next(), c, this.rng, this.step, this.model.config.numClasses);
        const lr = cosineLr(this.step, c.steps, c.lr, c.warmupSteps, c.minLr);
        const r = await engine.compute(batch);
        const norm = globalNorm(r.grads);
        const finite = Number.isFinite(r.loss) && Number.isFinite(norm);
        const scale = finite && c.gradClip !== null && norm > c.gradClip ? c.gradClip / norm : 1;
        if (finite) {
          const grads = scale === 1 ? r.grads : r.grads.map((g) => tf.mul(g, scale));
          this.opt.apply(grads, lr);
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
          this.emit({
            type: 'step',
            step: this.step,
            totalSteps: c.steps,
            loss: r.loss,
            bpd: bitsPerDim(r.loss),
            noise: c.noise.mode,
            sigma: batch.sigma,
            lr,
            gradNorm: norm,
            logdetPerDim: r.logdetPerDim,
            imagesPerSec: batch.shape[0] / dt,
            elapsedSeconds: this.elapsed,
            etaSeconds: (c.steps - this.step) / rate,
            workers: engine.workers,
          });
        }
        if (c.evalEvery && this.step % c.evalEvery === 0 && this.step < c.steps) await this.evaluate();
        if (c.checkpointEvery && this.step % c.checkpointEvery === 0 && this.step < c.steps) await this.checkpoint();
        else if (this.pendingMetrics.length >= 50) await this.flushMetrics();
        // Let signal handlers and I/O run between steps.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (this.opts.test && stoppedBy !== 'signal') await this.evaluate();
      const checkpoint = await this.checkpoint();
      await this.flushMetrics();
      return { steps: this.step, stoppedBy, finalLoss, lastEval: this.lastEval, checkpoint, elapsedSeconds: this.elapsed };
    } finally {
      if (this.opts.handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      await engine.dispose();
    }
  }

  /** Frees optimizer and EMA state (not the model, which the caller owns). */
  dispose(): void {
    this.opt.dispose();
    this.ema?.dispose();
  }
}

function checkDataset(model: FarmerModel, ds: ImageDataset, what: string): void {
  const f = model.config.flow;
  const im = ds.images;
  if (im.channels !== f.inChannels || im.height !== f.imageSize || im.width !== f.imageSize) {
    throw new FarmerError(
      'FARMER_E_BAD_INPUT',
      `the ${what} data (${ds.name}) are ${im.height}×${im.width}×${im.channels} but the model takes ${f.imageSize}×${f.imageSize}×${f.inChannels}; choose a matching preset or data`,
      { field: 'data' },
    );
  }
  if (model.config.numClasses > 0 && ds.numClasses > model.config.numClasses) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `the ${what} data have ${ds.numClasses} classes but the model has ${model.config.numClasses}`, { field: 'data' });
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
