/**
 * The command-line flags of the training loop's shared settings
 * (@farmer/train's loopConfigFields), which `farmer train` and
 * `farmer distill` both take.
 */
export interface LoopFlags {
  steps?: number;
  batchSize?: number;
  lr?: number;
  minLr?: number;
  warmup?: number;
  gradClip?: number | false;
  ema?: number | false;
  seed?: number;
  evalEvery?: number;
  evalImages?: number;
  checkpointEvery?: number;
  /** Minutes. */
  timeBudget?: number;
}

/** The settings the given flags set (flags left out set nothing); `--no-grad-clip` / `--no-ema` give null. */
export function loopSettingsOf(flags: LoopFlags): Record<string, unknown> {
  const t: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => v !== undefined && (t[k] = v);
  set('steps', flags.steps);
  set('batchSize', flags.batchSize);
  set('lr', flags.lr);
  set('minLr', flags.minLr);
  set('warmupSteps', flags.warmup);
  set('seed', flags.seed);
  set('evalEvery', flags.evalEvery);
  set('evalImages', flags.evalImages);
  set('checkpointEvery', flags.checkpointEvery);
  if (flags.timeBudget !== undefined) t.timeBudgetSeconds = flags.timeBudget * 60;
  set('gradClip', flags.gradClip === false ? null : flags.gradClip);
  set('ema', flags.ema === false ? null : flags.ema);
  return t;
}
