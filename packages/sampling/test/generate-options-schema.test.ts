import { Rng } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import {
  decoupledRows,
  drawDecoupled,
  GENERATE_OPTIONS_SCHEMA,
  generateOptionFields,
  generateOptionProblem,
  generateOptionsFromValues,
  imageCount,
  naiveCfgRows,
  PAPER_RESAMPLING_CFG,
  PAPER_UNGUIDED_DECOUPLED,
  resampleRows,
  resamplingCfgInformative,
  resamplingCfgRedundant,
  resolveResamplingCfgOptions,
  sampleNaiveCfg,
  seedOf,
  servedGenerateOptionsSchema,
} from '../src/index.js';
import { replicate } from './helpers.js';

const fields = generateOptionFields();
const field = (key: string) => fields.find((f) => f.key === key)!;

describe('the generate-options schema', () => {
  it('lists every option once, with the flags the CLI always had', () => {
    expect(fields.map((f) => `${f.key} --${f.flag}`)).toEqual([
      'count --count',
      'labels --labels',
      'seed --seed',
      'imageSeeds --image-seeds',
      'sampler --sampler',
      'informative.temperature --temperature',
      'informative.scale --scale',
      'redundant.temperature --redundant-temperature',
      'redundant.scale --redundant-scale',
      'cfg.w --cfg-w',
      'cfg.sc --cfg-sc',
      'cfg.su --cfg-su',
      'cfg.proposal.pi --cfg-proposal-pi',
      'cfg.proposal.sigma --cfg-proposal-sigma',
      'cfg.evaluation.pi --cfg-eval-pi',
      'cfg.evaluation.sigma --cfg-eval-sigma',
      'cfg.sharpen --cfg-sharpen',
      'cfg.poolC --cfg-pool-c',
      'cfg.poolU --cfg-pool-u',
      'cfg.schedule --cfg-schedule',
      'naive.w --naive-w',
      'naive.temperature --naive-temperature',
      'naive.scale --naive-scale',
      'naive.maxStdRatio --naive-max-std-ratio',
      'decoder --decoder',
      'jacobi.tolerance --jacobi-tolerance',
      'jacobi.maxIterations --jacobi-max-iterations',
      'jacobi.modules --jacobi-modules',
      'redraws --redraws',
      'batchSize --batch-size',
    ]);
    expect(fields.every((f) => f.description.length > 10)).toBe(true);
    expect(fields.filter((f) => !f.perRequest).map((f) => f.key)).toEqual(['batchSize']);
  });

  it('holds the paper defaults, filled in by parsing', () => {
    expect(field('cfg.w').defaultValue).toBe(PAPER_RESAMPLING_CFG.w);
    expect(field('informative.temperature').defaultValue).toBe(PAPER_UNGUIDED_DECOUPLED.temperature);
    const parsed = GENERATE_OPTIONS_SCHEMA.parse({});
    expect(parsed.cfg).toEqual({ ...PAPER_RESAMPLING_CFG, schedule: 'constant' });
    expect(parsed.informative).toEqual(PAPER_UNGUIDED_DECOUPLED);
    expect(resolveResamplingCfgOptions()).toEqual(PAPER_RESAMPLING_CFG);
  });

  it("keeps the server's caps beside the library's bounds", () => {
    const served = servedGenerateOptionsSchema({ maxCount: 8 });
    const wide = { labels: 1, cfg: { w: 25, sc: 100, poolC: 5000 }, informative: { temperature: 0.001 }, naive: { maxStdRatio: Infinity }, redraws: 50 };
    expect(GENERATE_OPTIONS_SCHEMA.safeParse(wide).success).toBe(true);
    const issues = served.safeParse(wide).error!.issues.map((i) => i.path.join('.'));
    expect(issues.sort()).toEqual(['cfg.poolC', 'cfg.sc', 'cfg.w', 'informative.temperature', 'naive.maxStdRatio', 'redraws']);
    expect(served.safeParse({ count: 9 }).success).toBe(false);
    expect(served.safeParse({ labels: Array(9).fill(1) }).success).toBe(false);
  });

  it('says what is wrong with a value, and builds options from flat values', () => {
    expect(generateOptionProblem(field('cfg.w'), -1)).toBe('must be ≥ 0, got -1');
    expect(generateOptionProblem(field('cfg.sc'), 2.5)).toBe('must be an integer, got 2.5');
    expect(generateOptionProblem(field('labels'), [1, -3])).toBe('[1] must be ≥ -1, got -3');
    expect(generateOptionProblem(field('sampler'), 'ddim')).toBe("must be one of auto, decoupled, resampling-cfg, naive-cfg, got 'ddim'");
    expect(generateOptionProblem(field('imageSeeds'), ['5:3', 'a b'])).toMatch(/^\[1\] must match/);
    expect(generateOptionProblem(field('naive.maxStdRatio'), Infinity)).toBeNull();
    expect(generateOptionsFromValues({ 'cfg.proposal.pi': 0.5, 'cfg.w': 2, seed: 3, 'naive.w': undefined })).toEqual({ cfg: { proposal: { pi: 0.5 }, w: 2 }, seed: 3 });
  });
});

describe('seedOf and imageCount', () => {
  it('image i of a request with seed s draws from "s:i"', () => {
    expect(seedOf(5, 3)).toBe('5:3');
    expect(seedOf('a', 0)).toBe('a:0');
  });

  it('count defaults to the number of labels (or image seeds) when they are a list, else 1', () => {
    expect(imageCount({ labels: [1, 2, 3] })).toBe(3);
    expect(imageCount({ labels: Int32Array.from([1, 2]) })).toBe(2);
    expect(imageCount({ labels: 4 })).toBe(1);
    expect(imageCount({ imageSeeds: ['1:0', '1:5'] })).toBe(2);
    expect(imageCount({ labels: [1, 2], count: 5 })).toBe(5);
    expect(imageCount({})).toBe(1);
  });
});

describe('the samplers take whole batches with one generator per image', () => {
  const pc = { logits: [0.3, -0.2, 0.1], means: [-1, 0, 0.5, 1, 2, -2], sigmas: [0.5, 0.4, 0.3, 0.6, 0.2, 0.7] };
  const pu = { logits: [0.1, 0.2, -0.3], means: [0, 0.5, -1, 1, 1.5, -1.5], sigmas: [0.6, 0.5, 0.4, 0.5, 0.3, 0.6] };
  const B = 4;
  // The CFG stream's layout: rows [0, B) conditional, [B, 2B) null (docs/method.md §7.9 CFG streams).
  const stream = replicate(pc, 2 * B);
  stream.logits.set(replicate(pu, B).logits, B * 3);
  stream.means.set(replicate(pu, B).means, B * 3 * 2);
  stream.sigmas.set(replicate(pu, B).sigmas, B * 3 * 2);
  const rngs = () => Array.from({ length: B }, (_, b) => new Rng(seedOf(9, b)));
  const rows = { cond: stream, uncond: stream, uncondFirst: B };
  const one = (spec: typeof pc) => replicate(spec, 1);

  it('decoupled: image b of a batch draws what it draws alone from its own generator', () => {
    const batch = decoupledRows(stream, 3, rngs(), { temperature: 1.2, scale: 0.9 });
    for (let b = 0; b < B; b++) {
      const alone = drawDecoupled(one(pc), 3, new Rng(seedOf(9, b)), { temperature: 1.2, scale: 0.9 });
      expect(Array.from(batch.z.subarray(b * 6, (b + 1) * 6))).toEqual(Array.from(alone.z));
    }
  });

  it('resampling CFG, informative and redundant steps: the same', () => {
    const o = resolveResamplingCfgOptions({ w: 1.5, sc: 3, su: 2, poolC: 6, poolU: 4 });
    const inf = resampleRows(rows, { nc: o.sc, nu: o.su, count: 1 }, o, rngs());
    const red = resampleRows(rows, { nc: o.poolC, nu: o.poolU, count: 5 }, o, rngs());
    for (let b = 0; b < B; b++) {
      const aloneI = resamplingCfgInformative(one(pc), one(pu), new Rng(seedOf(9, b)), o);
      const aloneR = resamplingCfgRedundant(one(pc), one(pu), 5, new Rng(seedOf(9, b)), o);
      expect(Array.from(inf.z.subarray(b * 2, (b + 1) * 2))).toEqual(Array.from(aloneI.z));
      expect(Array.from(red.z.subarray(b * 10, (b + 1) * 10))).toEqual(Array.from(aloneR.z));
    }
  });

  it('naive CFG: the same', () => {
    const batch = naiveCfgRows(rows, { w: 1.5, temperature: 1, scale: 1, maxStdRatio: 2 }, rngs());
    for (let b = 0; b < B; b++) {
      const alone = sampleNaiveCfg(one(pc), one(pu), new Rng(seedOf(9, b)), { w: 1.5 });
      expect(Array.from(batch.z.subarray(b * 2, (b + 1) * 2))).toEqual(Array.from(alone.z));
    }
  });
});
