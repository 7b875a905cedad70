import { FarmerError, isFarmerError } from '@farmer/core';
import { describe, expect, it } from 'vitest';
import { HttpError } from './errors.js';
import { JobQueue, type JobMember, type JobSettled } from './job-queue.js';

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

describe('JobQueue: batching before admission', () => {
  /** An exec that records each job's inputs and waits until released. */
  function recorder() {
    const jobs: { inputs: string[]; signal: AbortSignal }[] = [];
    const releases: (() => void)[] = [];
    const exec = (members: readonly JobMember<string>[], signal: AbortSignal) =>
      new Promise<string[]>((resolve, reject) => {
        jobs.push({ inputs: members.map((m) => m.input), signal });
        releases.push(() => resolve(members.map((m) => `${m.input}!`)));
        signal.addEventListener('abort', () => reject(new FarmerError('FARMER_E_ABORTED', 'stopped')), { once: true });
      });
    return { exec, jobs, release: (i: number) => releases[i]() };
  }
  const gen = (key: string, size = 1) => ({ kind: 'generate' as const, model: 'm', batch: { key, size, capacity: 4 } });

  it('compatible queued requests form one job when a slot frees, up to its capacity; others wait their turn; the queue counts requests', async () => {
    const settled: JobSettled[] = [];
    const q = new JobQueue({ concurrency: 1, maxQueued: 5, batchWindowMs: 0, onSettled: (s) => settled.push(s) });
    const r = recorder();
    const first = q.submit(gen('a'), 'x', r.exec, live());
    const waiting = [
      q.submit(gen('a'), 'a1', r.exec, live()),
      q.submit(gen('b'), 'b1', r.exec, live()),
      q.submit(gen('a', 2), 'a2', r.exec, live()),
      q.submit(gen('a', 2), 'a3', r.exec, live()),
      q.submit(gen('a'), 'a4', r.exec, live()),
    ];
    expect([q.running, q.queued]).toEqual([1, 5]);
    // The queue is full of requests, however few jobs they will make.
    const refused = await q.submit(gen('a'), 'late', r.exec, live()).catch((e: unknown) => e);
    expect((refused as HttpError).code).toBe('FARMER_E_BUSY');
    r.release(0);
    await first;
    // a1 + a2 + a4 fill the capacity of 4 (a3 would overflow it); b1 and a3 wait, in order.
    expect(r.jobs.map((j) => j.inputs)).toEqual([['x'], ['a1', 'a2', 'a4']]);
    expect([q.running, q.queued]).toEqual([1, 2]);
    r.release(1);
    await new Promise((res) => setImmediate(res));
    r.release(2);
    await new Promise((res) => setImmediate(res));
    r.release(3);
    const results = await Promise.all(waiting);
    expect(r.jobs.map((j) => j.inputs)).toEqual([['x'], ['a1', 'a2', 'a4'], ['b1'], ['a3']]);
    expect(results.map((x) => x.value)).toEqual(['a1!', 'b1!', 'a2!', 'a3!', 'a4!']);
    expect(results.map((x) => x.batch.requests)).toEqual([3, 1, 3, 1, 3]);
    expect(new Set([results[0], results[2], results[4]].map((x) => x.batch.id)).size).toBe(1);
    expect(settled.filter((s) => s.outcome === 'done')).toHaveLength(6);
  });

  it('a job with room waits its window for compatible arrivals; a full one starts at once', async () => {
    const q = new JobQueue({ concurrency: 1, maxQueued: 0, batchWindowMs: 30 });
    const r = recorder();
    const a = q.submit(gen('k'), 'a', r.exec, live());
    const b = q.submit(gen('k'), 'b', r.exec, live());
    const c = q.submit(gen('other'), 'c', r.exec, live()).catch((e: unknown) => e);
    expect(((await c) as HttpError).code).toBe('FARMER_E_BUSY');
    expect(r.jobs).toHaveLength(0);
    const d = q.submit(gen('k', 2), 'd', r.exec, live());
    await new Promise((res) => setImmediate(res));
    // a + b + d fill the capacity of 4: no more waiting (well inside the 30 ms window).
    expect(r.jobs.map((j) => j.inputs)).toEqual([['a', 'b', 'd']]);
    r.release(0);
    expect((await Promise.all([a, b, d])).map((x) => x.value)).toEqual(['a!', 'b!', 'd!']);
  });

  it('a client leaving a shared job gets aborted while the others get their results; the job stops when all have left', async () => {
    const settled: JobSettled[] = [];
    const q = new JobQueue({ concurrency: 1, maxQueued: 4, batchWindowMs: 0, onSettled: (s) => settled.push(s) });
    const r = recorder();
    const hold = q.submit(gen('k'), 'h', r.exec, live());
    const [ca, cb, cc, cd] = [0, 1, 2, 3].map(() => new AbortController());
    const a = q.submit(gen('k'), 'a', r.exec, ca.signal).catch((e: unknown) => e);
    const b = q.submit(gen('k'), 'b', r.exec, cb.signal);
    // c leaves while waiting: dropped, never part of a job.
    const c = q.submit(gen('k'), 'c', r.exec, cc.signal).catch((e: unknown) => e);
    cc.abort();
    expect(isFarmerError(await c, 'FARMER_E_ABORTED')).toBe(true);
    r.release(0);
    await hold;
    expect(r.jobs[1].inputs).toEqual(['a', 'b']);
    ca.abort();
    expect(r.jobs[1].signal.aborted).toBe(false);
    r.release(1);
    expect(isFarmerError(await a, 'FARMER_E_ABORTED')).toBe(true);
    expect((await b).value).toBe('b!');
    // Every client of a running job leaves: the job's signal fires.
    const d = q.submit(gen('k'), 'd', r.exec, cd.signal).catch((e: unknown) => e);
    await new Promise((res) => setImmediate(res));
    cd.abort();
    expect(r.jobs[2].signal.aborted).toBe(true);
    expect(isFarmerError(await d, 'FARMER_E_ABORTED')).toBe(true);
    await q.idle();
    expect(settled.map((s) => `${s.id}:${s.outcome}`)).toEqual(['4:dropped', '1:done', '2:aborted', '3:done', '5:aborted']);
  });
});
