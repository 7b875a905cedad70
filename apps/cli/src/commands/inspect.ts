import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { backendInfo, describeBackend, initBackend, readCheckpoint, resolveCheckpointDir } from '@farmer/core';
import { builtinModelDir } from '@farmer/models';
import { FarmerModel, parseFarmerConfig, preset, PRESET_NAMES } from '@farmer/ar-gmm';
import type { CliContext } from '../context.js';

const M = (n: number) => `${(n / 1e6).toFixed(2)}M`;

export async function runInspect(ctx: CliContext, target: string | undefined, flags: { preset?: string }): Promise<void> {
  const info = await initBackend({ backend: ctx.opts.backend }).catch((e: Error) => ({ error: e.message }));
  const backend = 'error' in info ? `unavailable: ${info.error}` : describeBackend(backendInfo()!);
  if (flags.preset || (target && (PRESET_NAMES as string[]).includes(target) && !existsSync(target))) {
    const name = flags.preset ?? target!;
    const config = preset(name);
    const params = FarmerModel.countParams(config);
    ctx.result(
      [`preset ${name}`, `parameters: ${M(params.total)} (AF ${M(params.flow)}, AR ${M(params.ar)})`, `config: ${JSON.stringify(config, null, 2)}`, `backend: ${backend}`].join('\n'),
      { preset: name, config, parameters: params, backend },
    );
    return;
  }
  const dir = target ? resolveCheckpointDir(target) : builtinModelDir();
  let checksums = 'ok (every file matches manifest.json)';
  let failure: unknown;
  let ck;
  try {
    ck = await readCheckpoint(dir);
  } catch (e) {
    checksums = `FAILED: ${(e as Error).message}`;
    failure = e;
    ck = await readCheckpoint(dir, { verify: false, parts: [] }).catch(() => undefined);
    if (!ck) throw e;
  }
  const config = ck.config.kind === 'farmer' ? parseFarmerConfig(ck.config.model, `${dir}/config.json`) : undefined;
  const params = config ? FarmerModel.countParams(config) : undefined;
  const training = ck.config.training as Record<string, unknown> | undefined;
  const lines = [
    `checkpoint ${dir}`,
    `kind: ${ck.config.kind}, format version ${ck.config.formatVersion}, written ${ck.config.createdAt}`,
    params ? `parameters: ${M(params.total)} (AF ${M(params.flow)}, AR ${M(params.ar)})` : '',
    `parts: ${ck.parts.join(', ')}`,
    training ? `training: step ${training.step}${training.lastEval ? `, last test ${(training.lastEval as { bpd: number }).bpd.toFixed(4)} bits/dim` : ''}, elapsed ${Math.round(Number(training.elapsedSeconds ?? 0))} s` : 'training: none recorded (weights only)',
    `checksums: ${checksums}`,
    `backend: ${backend}`,
    `config: ${JSON.stringify(ck.config.model, null, 2)}`,
  ];
  ctx.result(lines.filter(Boolean).join('\n'), { dir, kind: ck.config.kind, config: ck.config.model, parameters: params, parts: ck.parts, training, meta: ck.config.meta, checksums, backend });
  // The report is printed (JSON included); the exit status still says the checkpoint is damaged.
  if (failure) throw failure;
}

export function inspectCommand(ctx: () => CliContext): Command {
  return new Command('inspect')
    .description('show a checkpoint or preset: config, parameter counts, training state, backend and checksums')
    .argument('[checkpoint-or-preset]', 'checkpoint/run directory or preset name (default: the built-in model)')
    .option('--preset <name>', `inspect a preset: ${PRESET_NAMES.join(', ')}`)
    .addHelpText('after', '\nExamples:\n  farmer inspect\n  farmer inspect runs/small --json\n  farmer inspect --preset farmer-1.1b-p16')
    .action(async (target: string | undefined, flags: { preset?: string }) => runInspect(ctx(), target, flags));
}
