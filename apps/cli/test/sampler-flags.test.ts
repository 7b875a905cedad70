import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import { generateOptionFields } from '@farmer/sampling';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/program.js';
import { generateOptionsFromFlags, type SampleFlags } from '../src/sampling/index.js';

/*
 * The CLI's sampler flags are @farmer/sampling's generate-options schema
 * (issue 29): `farmer sample` has a flag for every option of the schema,
 * and no flag but its own conveniences (model, output, scale-out) outside
 * it; each flag lands in its option.
 */
const BIN = join(__dirname, '..', 'dist', 'bin.js');

/** The CLI's flags that are not generate options: which model, where the images go, how the run is split or bounded. */
const CLI_ONLY = ['--model', '--checkpoint', '--per-class', '--unconditional', '--out', '--separate', '--columns', '--no-ema', '--runtime', '--max-count', '--redis', '--shard-size'];

function sampleCommand(): Command {
  return buildProgram().commands.find((c) => c.name() === 'sample')!;
}

/** The flags `farmer sample ARGS` parses into (the action replaced, nothing runs). */
async function parse(args: string[]): Promise<SampleFlags> {
  const cmd = sampleCommand();
  let got: SampleFlags | undefined;
  cmd.action((flags: SampleFlags) => {
    got = flags;
  });
  await cmd.parseAsync(args, { from: 'user' });
  return got!;
}

describe('farmer sample has the flags of the generate-options schema', () => {
  it('a flag for every option of the schema, and none outside it but the CLI’s own', () => {
    const flags = sampleCommand().options.map((o) => o.long!);
    const schema = generateOptionFields().map((f) => `--${f.flag}`);
    expect(schema.filter((f) => !flags.includes(f))).toEqual([]);
    expect(flags.filter((f) => !schema.includes(f) && !CLI_ONLY.includes(f))).toEqual([]);
  });

  it('every flag lands in its option', async () => {
    const flags = await parse([
      '--labels', '1,2', '--seed', '9', '--image-seeds', '7:3,12', '--sampler', 'naive-cfg', '--temperature', '1.1', '--scale', '0.8',
      '--redundant-temperature', '1.2', '--redundant-scale', '0.7', '--cfg-w', '1.5', '--cfg-sc', '3', '--cfg-su', '2', '--cfg-proposal-pi', '0.9',
      '--cfg-proposal-sigma', '0.8', '--cfg-eval-pi', '0.3', '--cfg-eval-sigma', '0.7', '--cfg-sharpen', '1.3', '--cfg-pool-c', '16', '--cfg-pool-u', '8',
      '--cfg-schedule', 'linear', '--naive-w', '0.5', '--naive-temperature', '1.4', '--naive-scale', '0.6', '--naive-max-std-ratio', '3',
      '--decoder', 'student', '--batch-size', '4', '--redraws', '1',
    ]);
    expect(generateOptionsFromFlags(flags, 10)).toEqual({
      count: 2,
      labels: [1, 2],
      seed: 9,
      imageSeeds: ['7:3', 12],
      sampler: 'naive-cfg',
      informative: { temperature: 1.1, scale: 0.8 },
      redundant: { temperature: 1.2, scale: 0.7 },
      cfg: { w: 1.5, sc: 3, su: 2, proposal: { pi: 0.9, sigma: 0.8 }, evaluation: { pi: 0.3, sigma: 0.7 }, sharpen: 1.3, poolC: 16, poolU: 8, schedule: 'linear' },
      naive: { w: 0.5, temperature: 1.4, scale: 0.6, maxStdRatio: 3 },
      decoder: 'student',
      batchSize: 4,
      redraws: 1,
    });
    // Flags left out are left to the library's defaults.
    expect(generateOptionsFromFlags(await parse(['--labels', '3', '--count', '2']), 10)).toEqual({ count: 2, labels: 3 });
    // One image per image seed.
    expect(generateOptionsFromFlags(await parse(['--unconditional', '--image-seeds', '4:1,4:3']), 10)).toMatchObject({ count: 2, imageSeeds: ['4:1', '4:3'] });
  });

  it('a value outside the schema’s bounds is exit 2 naming the flag and the bound, before any model opens', () => {
    for (const [args, says] of [
      [['--cfg-w', '-1'], '--cfg-w must be ≥ 0, got -1'],
      [['--temperature', '0'], '--temperature must be > 0, got 0'],
      [['--cfg-sc', '2.5'], '--cfg-sc takes an integer'],
      [['--sampler', 'ddim'], "--sampler must be one of auto, decoupled, resampling-cfg, naive-cfg, got 'ddim'"],
      [['--image-seeds', 'a b'], '--image-seeds'],
      [['--labels', '-2'], '--labels'],
    ] as const) {
      const r = spawnSync(process.execPath, [BIN, 'sample', ...args, '--out', '/nonexistent-never-written/x.png'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(says);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
