import { isFarmerError } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { HttpError } from './errors.js';
import { JobQueue, type JobSettled } from './job-queue.js';

/** A task that runs until released (or aborted). */
function held() {
  let release!: (v: string) => void;
  const started: number[] = [];
  const task = (signal: AbortSignal, job: { id: number }) =>
    new Promise<string>((resolve, reject) => {
      started.push(job.id);
      release = resolve;
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  return { task, started, release: (v = 'ok') => release(v) };
}

const live = () => new AbortController().signal;
const job = { kind: 'generate' as const, model: 'm' };

describe('JobQueue', () => {
  it('runs up to `concurrency`, queues up to `maxQueued`, refuses the rest at once with FARMER_E_BUSY and Retry-After', async () => {
    const settled: JobSettled[] = [];
    const rejected: string[] = [];
    const q = new JobQueue({ concurrency: 2, maxQueued: 1, onSettled: (s) => settled.push(s), onRejected: (j) => rejected.push(j.model) });
    const releases: ((v: string) => void)[] = [];
    const task = () => new Promise<string>((r) => releases.push(r));
    const runs = [0, 1, 2].map(() => q.run(job, task, live()));
    expect([q.running, q.queued]).toEqual([2, 1]);
    const refused = await q.run(job, task, live()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HttpError);
    expect((refused as HttpError).code).toBe('FARMER_E_BUSY');
    expect(Number((refused as HttpError).headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(rejected).toEqual(['m']);
    releases[0]('a');
    await runs[0];
    await new Promise((r) => setImmediate(r));
    expect([q.running, q.queued]).toEqual([2, 0]);
    releases[1]('b');
    releases[2]('c');
    expect((await Promise.all(runs)).map((r) => r.value)).toEqual(['a', 'b', 'c']);
    await q.idle();
    expect(settled.map((s) => s.outcome)).toEqual(['done', 'done', 'done']);
  });

  it('is FIFO', async () => {
    const q = new JobQueue({ concurrency: 1, maxQueued: 5 });
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4].map((i) => q.run(job, async () => void order.push(i), live())));
    expect(order).toEqual([1, 2, 3, 4]);
  });

  it('drops a waiting job whose signal fires, and hands the abort to a running one', async () => {
    const settled: JobSettled[] = [];
    const q = new JobQueue({ concurrency: 1, maxQueued: 2, onSettled: (s) => settled.push(s) });
    const h = held();
    const a = new AbortController();
    const b = new AbortController();
    const ra = q.run(job, h.task, a.signal).catch((e: unknown) => e);
    const rb = q.run(job, h.task, b.signal).catch((e: unknown) => e);
    b.abort();
    expect(isFarmerError(await rb, 'FARMER_E_ABORTED')).toBe(true);
    expect(q.queued).toBe(0);
    a.abort();
    await ra;
    await q.idle();
    expect(settled.map((s) => s.outcome)).toEqual(['dropped', 'aborted']);
    expect(h.started).toEqual([1]);
  });

  it('an already-aborted signal never queues', async () => {
    const q = new JobQueue({ concurrency: 1, maxQueued: 1 });
    const ac = new AbortController();
    ac.abort();
    expect(isFarmerError(await q.run(job, async () => 1, ac.signal).catch((e: unknown) => e), 'FARMER_E_ABORTED')).toBe(true);
    expect([q.running, q.queued]).toEqual([0, 0]);
  });

  it('a failing task frees its slot and reports failed', async () => {
    const settled: JobSettled[] = [];
    const q = new JobQueue({ concurrency: 1, maxQueued: 1, onSettled: (s) => settled.push(s) });
    await expect(q.run(job, async () => Promise.reject(new Error('boom')), live())).rejects.toThrow('boom');
    expect((await q.run(job, async () => 2, live())).value).toBe(2);
    expect(settled.map((s) => s.outcome)).toEqual(['failed', 'done']);
  });

  it('beforeJob runs inside the slot and can hold a job', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const q = new JobQueue({ concurrency: 1, maxQueued: 1, beforeJob: () => gate });
    const r = q.run(job, async () => 'x', live());
    await new Promise((res) => setTimeout(res, 10));
    expect(q.running).toBe(1);
    open();
    expect((await r).value).toBe('x');
  });

  it('abortAll aborts running jobs and drops waiting ones with FARMER_E_UNAVAILABLE, then refuses new ones', async () => {
    const q = new JobQueue({ concurrency: 1, maxQueued: 1 });
    const h = held();
    const a = q.run(job, h.task, live()).catch((e: unknown) => e);
    const b = q.run(job, h.task, live()).catch((e: unknown) => e);
    q.abortAll();
    for (const r of [await a, await b]) expect((r as HttpError).code).toBe('FARMER_E_UNAVAILABLE');
    expect(((await q.run(job, h.task, live()).catch((e: unknown) => e)) as HttpError).code).toBe('FARMER_E_UNAVAILABLE');
    await q.idle();
  });

  it('rejects a bad configuration', () => {
    expect(() => new JobQueue({ concurrency: 0, maxQueued: 1 })).toThrow(RangeError);
    expect(() => new JobQueue({ concurrency: 1, maxQueued: -1 })).toThrow(RangeError);
  });
});
