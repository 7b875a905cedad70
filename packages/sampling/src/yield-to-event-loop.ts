/**
 * Lets pending I/O, timers and (in a browser) a repaint run before the
 * next token: setImmediate where it exists (Node: no 4 ms clamp), else a
 * zero-delay timer (browsers have no setImmediate).
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}
