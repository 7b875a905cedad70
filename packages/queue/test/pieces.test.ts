import { isFarmerError } from '@farmer/core';
import { builtinModelDir } from '@farmer/models';
import { describe, expect, it } from 'vitest';
import { checkpointHash, errorFromReason, failureReason, identityMismatch, parseJobData, parseRedisUrl, PassBatcher, planShards, redactRedisUrl } from '../src/index.js';
import { FarmerError } from '@farmer/core';

describe('Redis URLs', () => {
  it('parse with defaults, and never show a password', () => {
    expect(parseRedisUrl('redis://127.0.0.1')).toEqual({ host: '127.0.0.1', port: 6379, db: 0 });
    expect(parseRedisUrl('rediss://u:p%40ss@[::1]:6380/3')).toEqual({ host: '::1', port: 6380, db: 3, username: 'u', password: 'p@ss', tls: {} });
    expect(redactRedisUrl('redis://:hunter2@h:1/2')).toBe('redis://:***@h:1/2');
    expect(redactRedisUrl('not a url hunter2')).toBe('<unparsable Redis URL>');
    for (const bad of ['http://h', 'redis://:hunter2@h/x', 'nope hunter2']) {
      try {
        parseRedisUrl(bad);
        expect.unreachable(bad);
      } catch (e) {
        expect(isFarmerError(e) && e.code).toBe('FARMER_E_BAD_INPUT');
        expect((e as Error).message).not.toContain('hunter2');
      }
    }
  });
});

describe('planShards', () => {
  it('covers every image once, in batch-aligned shards, the last one shorter', () => {
    const shards = planShards(200, 32, 16);
    expect(shards.map((s) => [s.start, s.count])).toEqual([[0, 32], [32, 32], [64, 32], [96, 32], [128, 32], [160, 32], [192, 8]]);
    expect(shards.reduce((a, s) => a + s.count, 0)).toBe(200);
  });

  it('refuses a shard size that is not a multiple of the batch size (its passes would differ from one process)', () => {
    expect(() => planShards(200, 24, 16)).toThrow(/multiple of the batch size \(16\)/);
    expect(() => planShards(0, 16, 16)).toThrow(/positive image count/);
  });
});

describe('model identity', () => {
  it('hashes the manifest of a checkpoint and of its ONNX export apart, and names the first mismatch', async () => {
    const h = await checkpointHash(builtinModelDir());
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(await checkpointHash(builtinModelDir())).toBe(h);
    const own = { model: 'm', checkpointHash: h, runtime: 'onnxruntime' };
    expect(identityMismatch(own, own)).toBeUndefined();
    expect(identityMismatch({ ...own, runtime: 'tfjs' }, own)).toMatch(/runs on onnxruntime, the job asks for tfjs/);
    expect(identityMismatch({ ...own, checkpointHash: '0'.repeat(64) }, own)).toMatch(/checkpoint .* differs/);
    await expect(checkpointHash('/nonexistent/dir')).rejects.toThrow(/no manifest\.json/);
  });
});

describe('job data and failure reasons', () => {
  it('rejects malformed jobs and keeps a FarmerError code across Redis', () => {
    expect(() => parseJobData({ kind: 'shard' })).toThrow(/a farmer job/);
    const id = { model: 'm', checkpointHash: 'a'.repeat(64), runtime: 'onnxruntime' };
    expect(() => parseJobData({ kind: 'shard', identity: id, run: 'r', shard: 0, start: 0, count: 2, seed: 1, labels: [1], settings: {} })).toThrow(/1 labels for a shard of 2/);
    const e = errorFromReason('shard 3', failureReason(new FarmerError('FARMER_E_NON_FINITE', 'NaN in the AR pass')));
    expect([e.code, e.message]).toEqual(['FARMER_E_NON_FINITE', 'shard 3: NaN in the AR pass']);
    expect(errorFromReason('x', 'plain').code).toBe('FARMER_E_INTERNAL');
  });
});

describe("a job's generate options are checked by the generate-options schema", () => {
  const id = { model: 'm', checkpointHash: 'a'.repeat(64), runtime: 'onnxruntime' };
  const shard = (settings: object) => ({ kind: 'shard', identity: id, run: 'r', shard: 0, start: 0, count: 2, seed: 1, labels: [1, 2], settings });
  const request = (r: object) => ({ kind: 'generate', identity: id, request: { count: 1, seed: 3, ...r }, capacity: 16 });
  const resolved = {
    sampler: 'resampling-cfg',
    informative: { temperature: 1.3, scale: 0.9 },
    redundant: { temperature: 1.3, scale: 0.9 },
    cfg: { w: 2.5, sc: 5, su: 5, proposal: { pi: 1, sigma: 0.9 }, evaluation: { pi: 0.2, sigma: 0.9 }, sharpen: 1.1, poolC: 64, poolU: 64, schedule: 'constant' },
    decoder: 'flow',
    batchSize: 16,
    redraws: 3,
  };

  it('takes resolved settings and requests as they are, filling in nothing', () => {
    expect(parseJobData(shard(resolved))).toEqual(shard(resolved));
    expect(parseJobData(request({ labels: [4], naive: { w: 1 } }))).toEqual(request({ labels: [4], naive: { w: 1 } }));
  });

  it('refuses an option that is not in the schema, or a value outside its bounds, as FARMER_E_BAD_INPUT naming it', () => {
    for (const [job, says] of [
      [shard({ ...resolved, cfg: { ...resolved.cfg, ww: 1 } }), /settings\.cfg: Unrecognized key: "ww"/],
      [shard({ ...resolved, temprature: 1 }), /settings: Unrecognized key: "temprature"/],
      [shard({ ...resolved, cfg: { ...resolved.cfg, sc: 0 } }), /settings\.cfg\.sc/],
      [request({ cfg: { w: -1 } }), /request\.cfg\.w/],
      [request({ sampler: 'ddim' }), /request\.sampler/],
      [request({ count: undefined }), /request\.count/],
    ] as const) {
      let err: unknown;
      try {
        parseJobData(job);
      } catch (e) {
        err = e;
      }
      expect(err, `${JSON.stringify(job)} was taken`).toBeInstanceOf(FarmerError);
      expect((err as FarmerError).code, JSON.stringify(job)).toBe('FARMER_E_BAD_INPUT');
      expect((err as Error).message).toMatch(says);
    }
  });
});

describe('PassBatcher', () => {
  it('runs one pass at a time, gathers compatible items up to the capacity, and puts lower priorities first', async () => {
    const passes: number[][] = [];
    const b = new PassBatcher<number, number>({ windowMs: 20 });
    const run = async (xs: number[]): Promise<number[]> => {
      passes.push(xs);
      await new Promise((r) => setTimeout(r, 10));
      return xs.map((x) => x * 10);
    };
    const item = (x: number, key: string, size = 1, priority = 0) => b.submit({ input: x, batch: { key, size, capacity: 4 }, priority, run });
    const all = Promise.all([item(1, 'a'), item(2, 'b'), item(3, 'a', 2), item(4, 'a', 2), b.submit({ input: 5, priority: 1, run }), item(6, 'b')]);
    const got = await all;
    expect(got.map((g) => g.value)).toEqual([10, 20, 30, 40, 50, 60]);
    // 1 and 3 fill capacity 4 with sizes 1+2; 4 (size 2) would exceed it. The shard-like item (priority 1) goes last.
    expect(passes).toEqual([[1, 3], [2, 6], [4], [5]]);
    expect(got[0].pass).toEqual({ id: 1, items: 2 });
  });

  it('rejects every item of a pass that throws, and carries on', async () => {
    const b = new PassBatcher<number, number>({ windowMs: 0 });
    const bad = b.submit({ input: 1, run: async () => Promise.reject(new Error('boom')) });
    const good = b.submit({ input: 2, run: async (xs) => xs });
    await expect(bad).rejects.toThrow('boom');
    expect((await good).value).toBe(2);
  });
});
