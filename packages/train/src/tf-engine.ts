import { FarmerError, tf } from '@farmer/core';
import { AdamW } from './adamw.js';
import { Ema } from './ema.js';
import type { EngineContext, EngineFactory, EngineState, StepGradients, StepUpdate, TrainEngine } from './engine.js';
import { globalNorm } from './grad-norm.js';
import type { Figures, TfBinding } from './objective.js';

/**
 * The trained state of a tfjs objective: its variables (the live weights),
 * AdamW moments and the optional EMA shadow, all on the tfjs backend.
 */
export class TfTrainState {
  readonly optimizer: AdamW;
  readonly ema?: Ema;

  constructor(
    readonly variables: tf.Variable[],
    ctx: Pick<EngineContext, 'state' | 'adamw' | 'ema'>,
  ) {
    if (ctx.state.weights.length !== variables.length) {
      throw new FarmerError('FARMER_E_INTERNAL', `engine state has ${ctx.state.weights.length} weights for ${variables.length} variables`);
    }
    tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(ctx.state.weights[i], v.shape))));
    this.optimizer = new AdamW(variables, ctx.adamw);
    if (ctx.state.optimizer) this.optimizer.loadState(ctx.state.optimizer);
    if (ctx.ema !== null) {
      this.ema = new Ema(variables, ctx.ema);
      if (ctx.state.ema) this.ema.loadState(ctx.state.ema);
    }
  }

  /** AdamW on `grads` × `scale` at `lr`, then the EMA. The caller still owns `grads`. */
  update(grads: tf.Tensor[], lr: number, scale: number): void {
    const scaled = scale === 1 ? grads : grads.map((g) => tf.mul(g, scale));
    this.optimizer.apply(scaled, lr);
    if (scaled !== grads) tf.dispose(scaled);
    this.ema?.update();
  }

  /** Host copies of the weights, moments and EMA. */
  state(): EngineState {
    return {
      weights: this.variables.map((v) => Float32Array.from(v.dataSync() as Float32Array)),
      optimizer: this.optimizer.rawState(),
      ema: this.ema?.rawState(),
    };
  }

  /** Disposes the optimizer and EMA state. */
  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
  }
}

/**
 * The in-process tfjs engine: one replica on this thread. Its gradients are
 * tfjs autodiff of the objective's loss; the update is tfjs AdamW and EMA.
 */
export class TfEngine<TBatch, TFigures extends Figures> implements TrainEngine<TBatch, TFigures> {
  readonly name = 'tfjs';
  readonly workers = 1;
  private readonly train: TfTrainState;
  private pending?: tf.Tensor[];

  constructor(
    private readonly binding: TfBinding<TBatch, TFigures>,
    ctx: EngineContext,
  ) {
    this.train = new TfTrainState(binding.variables, ctx);
  }

  async compute(batch: TBatch): Promise<StepGradients<TFigures>> {
    this.drop();
    const r = this.binding.lossAndGrads(batch);
    this.pending = r.grads;
    return { loss: r.loss, gradNorm: globalNorm(r.grads), figures: r.figures };
  }

  async apply(u: StepUpdate): Promise<void> {
    if (!this.pending) throw new FarmerError('FARMER_E_INTERNAL', 'apply() without a compute()');
    if (!u.skipped) this.train.update(this.pending, u.lr, u.scale);
    this.drop();
  }

  async state(): Promise<EngineState> {
    return this.train.state();
  }

  private drop(): void {
    if (this.pending) tf.dispose(this.pending);
    this.pending = undefined;
  }

  /** Disposes the engine's training state. */
  dispose(): void {
    this.drop();
    this.train.dispose();
  }
}

/** An engine factory for a tfjs binding: the in-process engine. */
export function tfEngine<TBatch, TFigures extends Figures>(binding: TfBinding<TBatch, TFigures>): EngineFactory<TBatch, TFigures> {
  return (ctx) => new TfEngine(binding, ctx);
}
