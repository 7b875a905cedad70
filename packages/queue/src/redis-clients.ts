import { Redis, type RedisOptions } from 'ioredis';
import { withTimeout, type RedisLink } from './redis-connection.js';

/**
 * How long a QueueEvents read blocks in Redis, ms (its `blockingTimeout`;
 * BullMQ's default is 10 s). BullMQ guards each read with a timer of this
 * plus a second, which a lost connection leaves running: it bounds how long
 * that timer outlives the connection.
 */
export const EVENTS_BLOCKING_TIMEOUT_MS = 2000;

/**
 * The ioredis clients of one owner (a submitter, a worker, a server's
 * remote generator), made here so that its shutdown can end every one of
 * them, the copies BullMQ makes for its blocking reads included.
 *
 * Why not leave the connections to BullMQ: they reconnect forever, and
 * BullMQ's `close()` waits for Redis (QUIT behind the commands queued while
 * it is away, the `end` of a connection that is between two reconnects), so
 * with Redis down it never returns and the reconnect timers keep the process
 * alive. Given a client instead of options, BullMQ leaves the client to its
 * owner and duplicates it for its blocking connection (Worker, QueueEvents)
 * through `duplicate()`, which is tracked here too; {@link disconnect} then
 * drops them all at once, whatever Redis does.
 */
export class RedisClients {
  private readonly clients = new Set<Redis>();

  constructor(private readonly link: RedisLink) {}

  /**
   * A new connection: for one BullMQ Queue, QueueEvents or Worker, or for
   * farmer's own keys. Its commands wait for a reconnect rather than fail
   * (`maxRetriesPerRequest: null`, which BullMQ's blocking reads need, and
   * which lets a command outlast a Redis that comes back), so callers that
   * must not hang bound their waits ({@link withTimeout}). ioredis
   * reconnects within 2 s of Redis coming back (its default backoff;
   * BullMQ's own would wait up to 20 s).
   */
  connection(): Redis {
    return this.track({ ...this.link.address, maxRetriesPerRequest: null });
  }

  private track(options: RedisOptions): Redis {
    // A socket that closed before disconnect() never says so again: ioredis would keep a timer for it this long (2 s by default).
    const client = new Redis({ disconnectTimeout: 500, ...options });
    // Errors come back through the failing command, or through BullMQ's 'error' events; unheard, ioredis would print them.
    client.on('error', () => undefined);
    client.duplicate = (override?: Partial<RedisOptions>) => this.track({ ...options, ...override });
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    return client;
  }

  /**
   * Closes an owner's connections within `waitMs`: waits that long at most
   * for `closing` (BullMQ's own `close()` of its objects, clean while Redis
   * answers), then ends every client, whatever happened. Resolves whether
   * `closing` finished in time.
   */
  async close(closing: readonly Promise<unknown>[], waitMs: number): Promise<boolean> {
    const clean = await withTimeout(Promise.allSettled(closing), waitMs, () => new Error('close timeout')).then(
      () => true,
      () => false,
    );
    this.disconnect();
    return clean;
  }

  /**
   * Ends every client now, without waiting for Redis (ioredis `disconnect()`:
   * the socket closes and the reconnect timer is cleared). Commands still
   * waiting for Redis never settle; whoever awaits them bounds the wait.
   */
  disconnect(): void {
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
  }
}
