import type { FarmerRunner } from '@farmer/ar-gmm';
import { describeRedrawn, generate, imageCount, type GenerateOptions, type GenerateResult } from '@farmer/sampling';
import type { CliContext } from '../context.js';

/** Runs generate with a progress bar over tokens and phases, and a note naming the images drawn again. */
export async function generateWithProgress(ctx: CliContext, runner: FarmerRunner, options: GenerateOptions, label = 'sample'): Promise<GenerateResult> {
  const bar = ctx.progress(label, imageCount(options), 'images');
  let r: GenerateResult;
  try {
    r = await generate(runner, {
      ...options,
      onProgress: (p) =>
        bar.update(p.imagesDone, p.phase === 'ar' ? `AR token ${p.token}/${p.tokens}` : `AF block ${p.blocksDone + 1}/${p.blocks} token ${p.token}/${p.tokens}`),
    });
  } finally {
    bar.stop();
  }
  if (r.redrawn.length) ctx.note(`note: ${describeRedrawn(r.redrawn, r.parameters.decoder)} (--redraws)`);
  return r;
}
