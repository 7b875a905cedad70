/**
 * Lets pending I/O, timers and (in a browser) a repaint run before the
 * next token: setImmediate where it exists (Node), else a MessageChannel
 * message (browsers have no setImmediate, and nested zero-delay timers are
 * clamped to 4 ms: 0.2 s per image of waiting at batch 1), else a timer.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else if (typeof MessageChannel === 'function') {
      const { port1, port2 } = new MessageChannel();
      // onmessage (not addEventListener) starts a browser port; Node's typings lack it, the DOM's have it.
      (port1 as unknown as { onmessage: (() => void) | null }).onmessage = () => {
        port1.close();
        resolve();
      };
      port2.postMessage(null);
    } else setTimeout(resolve, 0);
  });
}
