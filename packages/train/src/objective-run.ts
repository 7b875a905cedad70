import type { ObjectiveTypes } from './objective.js';
import type { RunSummary, TrainingRun, TrainingRunOptions } from './training-run.js';

/**
 * What an objective's own run class (FARMER's `Trainer`, the `Distiller`)
 * shares: the run's settings, step, checkpoint, evaluation and run, all
 * delegated to its TrainingRun. Subclasses add their model and factories.
 */
export class ObjectiveRun<T extends ObjectiveTypes> {
  readonly config: T['config'];

  protected constructor(protected readonly runner: TrainingRun<T>) {
    this.config = runner.config;
  }

  /** The step the run has reached. */
  get currentStep(): number {
    return this.runner.currentStep;
  }

  /** Writes the run's checkpoint atomically (no-op without outDir). */
  async checkpoint(): Promise<string | undefined> {
    return this.runner.checkpoint();
  }

  /** Held-out evaluation on the weights that ship (EMA when on), as an 'eval' event. */
  async evaluate(maxImages = this.config.evalImages): Promise<T['eval'] | undefined> {
    return this.runner.evaluate(maxImages);
  }

  /** Runs until `steps`, the time budget, an abort or a signal; always ends with a checkpoint. */
  async run(): Promise<RunSummary<T['eval']>> {
    return this.runner.run();
  }
}

/** The options every objective's run takes besides its model, settings and engine: data, output, events, signals, provenance. */
export type RunOptions<T extends ObjectiveTypes> = Omit<TrainingRunOptions<T>, 'engine'> & {
  /** Provenance stored in the checkpoint's `meta` (command line, dataset spec, ...). */
  meta?: Record<string, unknown>;
};
