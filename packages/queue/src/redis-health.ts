import type { Redis } from 'ioredis';
import { errorText } from './redis-connection.js';

/** Whether Redis can be reached now, as one connection that reconnects until closed sees it. */
export interface RedisHealth {
  /** The connection is up (connected and ready for commands). */
  readonly up: boolean;
  /** Since when (Date.now()) it has been down; undefined while up. */
  readonly downSince: number | undefined;
  /** The last connection error (ECONNREFUSED ..., WRONGPASS ...), for messages. */
  readonly lastError: string | undefined;
  /** Calls `listener` whenever the connection goes down or comes back; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

/**
 * Watches `client` (one that reconnects, never closed by this): down from
 * the moment its socket closes (a killed server resets it at once) until it
 * is ready again. It counts as down until its first connection is ready.
 * A server that stops answering without closing the socket is not seen
 * here: callers bound their commands too.
 */
export function watchRedis(client: Redis): RedisHealth {
  let downSince: number | undefined = client.status === 'ready' ? undefined : Date.now();
  let lastError: string | undefined;
  const listeners = new Set<() => void>();
  const changed = (): void => {
    for (const l of listeners) l();
  };
  client.on('ready', () => {
    downSince = undefined;
    changed();
  });
  client.on('close', () => {
    if (downSince !== undefined) return;
    downSince = Date.now();
    changed();
  });
  client.on('error', (e: unknown) => (lastError = errorText(e)));
  return {
    get up() {
      return downSince === undefined;
    },
    get downSince() {
      return downSince;
    },
    get lastError() {
      return lastError;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
