import type { EventEmitter } from 'node:events';
import type { Queue, QueueEvents } from 'bullmq';

/**
 * Resolves with the result of job `jobId` once a worker completes it, or
 * rejects with its failure reason: BullMQ's `job.waitUntilFinished`, minus
 * its timer. That timer (the answer timeout) would keep a closing process
 * alive until it fires; here the caller bounds the wait and, by aborting
 * `stop`, removes the listeners (the promise then never settles).
 * `events` must be listening already (its `waitUntilReady()` resolved), so
 * an answer that comes after the check below is heard.
 */
export async function waitForAnswer(queue: Queue, events: QueueEvents, jobId: string, stop: AbortSignal): Promise<unknown> {
  // Per-job event names, as waitUntilFinished uses: one listener per request on the shared events, not one each on 'completed'.
  const emitter = events as unknown as EventEmitter;
  let off = (): void => undefined;
  const answered = new Promise<unknown>((resolve, reject) => {
    const onCompleted = (args: { returnvalue: unknown }): void => resolve(args.returnvalue);
    const onFailed = (args: { failedReason: string }): void => reject(new Error(args.failedReason));
    emitter.on(`completed:${jobId}`, onCompleted);
    emitter.on(`failed:${jobId}`, onFailed);
    off = () => {
      emitter.off(`completed:${jobId}`, onCompleted);
      emitter.off(`failed:${jobId}`, onFailed);
    };
  });
  stop.addEventListener('abort', off, { once: true });
  try {
    // An answer that came before the listeners did.
    const job = await queue.getJob(jobId);
    const state = await job?.getState();
    if (state === 'completed') return job!.returnvalue;
    if (state === 'failed') throw new Error(job!.failedReason);
    return await answered;
  } finally {
    off();
    stop.removeEventListener('abort', off);
  }
}
