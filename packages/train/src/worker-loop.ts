import type { MessagePort } from 'node:worker_threads';

/**
 * A training worker thread's message loop: messages are handled one at a
 * time, in order (so a trainer may have several in flight); a failure is
 * reported as an `error` message and ends the thread, so the trainer's
 * pending requests reject instead of hanging.
 */
export function serveMessages<T>(port: MessagePort, handle: (msg: T) => Promise<void>): void {
  let queue = Promise.resolve();
  port.on('message', (msg: T) => {
    queue = queue.then(() => handle(msg)).catch((e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      port.postMessage({ type: 'error', message: err.message, stack: err.stack });
      setTimeout(() => process.exit(1), 10);
    });
  });
}
