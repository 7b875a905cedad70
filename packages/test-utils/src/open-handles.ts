/** Where things stood at a moment: the sockets open, and the timers set so far. */
export interface HandleMark {
  readonly sockets: number;
  readonly timers: number;
}

/** A watch on what keeps this process alive (see {@link watchOpenHandles}). */
export interface OpenHandleWatch {
  /** Where things stand now. */
  mark(): HandleMark;
  /** What is open now beyond `since`: sockets beyond its count, and timers set after it that keep the process alive, each named with where it was set. */
  openSince(since: HandleMark): string[];
  /** Waits (up to `ms`) until {@link openSince} is empty; throws naming what is still open otherwise. */
  nothingLeftOpen(since: HandleMark, ms: number): Promise<void>;
  /** Resolves after `ms`, on a timer the watch does not count. */
  sleep(ms: number): Promise<void>;
  /** Polls `check` every 20 ms (on uncounted timers) until true; throws after `ms`. */
  until(check: () => boolean, ms: number, what: string): Promise<void>;
  /** Puts the global timer functions back. */
  stop(): void;
}

/**
 * Watches what keeps this process alive, for tests that a component closed
 * with nothing left behind: open sockets (`process.getActiveResourcesInfo()`),
 * and timers set through the global setTimeout/setInterval from now on (as
 * ioredis, BullMQ and this repository's code set them; vitest keeps its own
 * references, so its timers are not counted). Node names timers only by kind,
 * so the watch replaces the global timer functions until {@link OpenHandleWatch.stop}.
 */
export function watchOpenHandles(): OpenHandleWatch {
  const real = { setTimeout, clearTimeout, setInterval, clearInterval };
  const timers = new Map<NodeJS.Timeout, { seq: number; setAt: string }>();
  let seq = 0;
  // The frames below the replaced function: who set the timer.
  const setAt = (): string =>
    (new Error().stack ?? '')
      .split('\n')
      .slice(3, 6)
      .map((l) => l.trim().replace(/^at /, ''))
      .join(' < ');
  const g = globalThis as unknown as Record<string, unknown>;
  g.setTimeout = (f: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t: NodeJS.Timeout = real.setTimeout(
      (...a: unknown[]) => {
        timers.delete(t);
        f(...a);
      },
      ms,
      ...args,
    );
    timers.set(t, { seq: ++seq, setAt: setAt() });
    return t;
  };
  g.setInterval = (f: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const t: NodeJS.Timeout = real.setInterval(f, ms, ...args);
    timers.set(t, { seq: ++seq, setAt: setAt() });
    return t;
  };
  g.clearTimeout = g.clearInterval = (t: NodeJS.Timeout | undefined) => {
    if (t) timers.delete(t);
    real.clearTimeout(t);
  };

  const sockets = (): string[] => process.getActiveResourcesInfo().filter((kind) => /TCP|Connect|GetAddrInfo/.test(kind));
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => real.setTimeout(resolve, ms));
  const until = async (check: () => boolean, ms: number, what: string): Promise<void> => {
    const t0 = Date.now();
    while (!check()) {
      if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await sleep(20);
    }
  };
  const openSince = (since: HandleMark): string[] => [
    ...sockets().slice(since.sockets),
    ...[...timers].filter(([t, info]) => info.seq > since.timers && t.hasRef()).map(([, info]) => `a timer set at ${info.setAt}`),
  ];
  return {
    mark: () => ({ sockets: sockets().length, timers: seq }),
    openSince,
    nothingLeftOpen: async (since, ms) => {
      await until(() => openSince(since).length === 0, ms, 'nothing left open').catch(() => {
        throw new Error(`left open after ${ms} ms: ${openSince(since).join('; ')}`);
      });
    },
    sleep,
    until,
    stop: () => Object.assign(globalThis, real),
  };
}
