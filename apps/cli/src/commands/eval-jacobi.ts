import type { Command } from 'commander';
import { JACOBI_DEFAULTS, writeJacobiPlanFile } from '@farmer/flow';
import { RUNTIME_CHOICES, type RuntimeChoice } from '@farmer/runtime';
import { measureJacobiPlan } from '@farmer/sampling';
import type { CliContext } from '../context.js';
import { choiceFlag, intFlag, numberFlag, pathFlag } from '../flags.js';
import { CHECKPOINT_FLAG_HELP, MODEL_FLAG_HELP, openRunner, type ModelFlags } from '../model-open.js';

interface EvalJacobiFlags extends ModelFlags {
  count: number;
  seed: number;
  tolerance: number;
  runtime: RuntimeChoice;
  write?: boolean;
}

async function runEvalJacobi(ctx: CliContext, flags: EvalJacobiFlags): Promise<void> {
  await ctx.initBackend();
  const { runner, dir, close } = await openRunner(ctx, flags, { runtime: flags.runtime });
  try {
    const bar = ctx.progress('draw latents', flags.count, 'images');
    const plan = await measureJacobiPlan(runner, { count: flags.count, seed: flags.seed, tolerance: flags.tolerance, onProgress: (done) => bar.update(done) });
    bar.stop();
    const written = flags.write ? await writeJacobiPlanFile(dir, plan) : undefined;
    const rows = plan.blocks.map(
      (b) =>
        `  block ${b.block}: ${b.iterations.toFixed(1).padStart(5)} passes${plan.tough.includes(b.block) ? ' (tough)' : ''}; start from ${b.init} (RMS distance to the exact result: latent ${b.latentDistance.toFixed(4)}, zeros ${b.zeroDistance.toFixed(4)})` +
        (b.moduleCosts ? `; token-passes by modules: ${b.moduleCosts.map((m) => `${m.modules}: ${m.tokenPasses.toFixed(0)}`).join(', ')}` : ''),
    );
    ctx.result(
      [
        `Jacobi convergence per AF block (plain Jacobi to tolerance ${flags.tolerance}, mean over ${flags.count} images the model drew, ${runner.runtime}):`,
        ...rows,
        plan.tough.length ? `tough blocks ${plan.tough.join(', ')}: ${plan.modules} Gauss-Seidel module(s)` : 'no tough block: plain Jacobi everywhere',
        written ? `wrote ${written}` : 'not written (--write stores it beside the checkpoint)',
      ].join('\n'),
      { checkpoint: dir, plan, written: written ?? null },
    );
  } finally {
    close();
  }
}

/** `farmer eval jacobi`: measures a model's Jacobi plan (docs/method.md §3.13 Jacobi decoding) and, with --write, stores it beside the checkpoint. */
export function addJacobiEvalCommand(ev: Command, ctx: () => CliContext): void {
  ev.command('jacobi')
    .description("measure how fast GS-Jacobi decoding converges in each AF block (the convergence ranking and initial-guess metrics) and derive the model's Jacobi plan")
    .option('--model <name>', MODEL_FLAG_HELP)
    .option('--checkpoint <dir>', CHECKPOINT_FLAG_HELP, pathFlag('--checkpoint'))
    .option('--count <n>', 'images the model draws to measure on', intFlag('--count', 1), 16)
    .option('--seed <n>', 'seed of those images', intFlag('--seed', 0), 0)
    .option('--tolerance <x>', 'the stopping tolerance the plan is made for', numberFlag('--tolerance', { min: 0 }), JACOBI_DEFAULTS.tolerance)
    .option('--runtime <name>', 'auto, onnx or tfjs', choiceFlag('--runtime', RUNTIME_CHOICES), 'auto')
    .option('--write', 'write jacobi-plan.json beside the checkpoint (the plan every --decoder jacobi then uses; `farmer export onnx` carries it to the browser)')
    .addHelpText('after', '\nExamples:\n  farmer eval jacobi --model mnist-small\n  farmer eval jacobi --checkpoint runs/small --write')
    .action(async (flags: EvalJacobiFlags) => runEvalJacobi(ctx(), flags));
}
