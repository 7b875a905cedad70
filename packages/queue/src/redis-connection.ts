import { FarmerError } from '@farmer/core';
import { Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl, redactRedisUrl, type RedisAddress } from './redis-url.js';

/** How long a connection probe may take before Redis counts as unreachable, ms. */
export const REDIS_PROBE_TIMEOUT_MS = 5000;

/** The oldest Redis that BullMQ runs on. */
const MIN_REDIS_MAJOR = 5;

/** A Redis server that answered a probe: where it is. Connect to it through `RedisClients`, which can end every connection it made. */
export interface RedisLink {
  /** The URL without its password, for messages and logs. */
  readonly url: string;
  readonly address: RedisAddress;
  /** The server's version, as INFO reports it. */
  readonly version: string;
  /** The probe's timeout, ms: also the bound on any single wait for Redis, and on how long a lost Redis may take to come back. */
  readonly timeoutMs: number;
}

/** The error for a Redis that cannot be reached or used: FARMER_E_BACKEND (CLI exit 2, HTTP 503), naming the URL without its password. */
export function redisUnreachable(url: string, why: string, timeoutMs: number): FarmerError {
  return new FarmerError(
    'FARMER_E_BACKEND',
    `cannot use Redis at ${redactRedisUrl(url)} (waited at most ${(timeoutMs / 1000).toFixed(0)} s): ${why}; start a server (redis-server --bind 127.0.0.1) or fix --redis`,
    { field: 'redis', url: redactRedisUrl(url) },
  );
}

/**
 * The error for a Redis lost in the middle of work and not back within
 * `graceMs`: FARMER_E_BACKEND (CLI exit 2, HTTP 503), naming the URL without
 * its password, what was under way and what to do.
 */
export function redisLost(url: string, why: string, graceMs: number, then: string): FarmerError {
  return new FarmerError('FARMER_E_BACKEND', `lost Redis at ${redactRedisUrl(url)} and it did not come back within ${(graceMs / 1000).toFixed(0)} s (${why}); ${then}`, { field: 'redis', url: redactRedisUrl(url) });
}

/** Rejects with `onTimeout()` when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error's text with its code, as Node gives a socket's ("connect ECONNREFUSED 127.0.0.1:6379"). */
export function errorText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const text = err?.message ?? String(e);
  return err?.code && !text.includes(err.code) ? `${err.code} ${text}` : text;
}

/**
 * Probes the Redis server at `url` once, without retries: connect, PING,
 * and check its version. BullMQ's own connections retry forever, so a
 * wrong URL or a stopped server would hang every command; this turns either
 * into FARMER_E_BACKEND within `timeoutMs` (default
 * {@link REDIS_PROBE_TIMEOUT_MS}), with the URL minus its password. A
 * malformed URL is FARMER_E_BAD_INPUT.
 */
export async function connectRedis(url: string, options: { timeoutMs?: number } = {}): Promise<RedisLink> {
  const address = parseRedisUrl(url);
  const timeoutMs = options.timeoutMs ?? REDIS_PROBE_TIMEOUT_MS;
  const base: RedisOptions = { ...address, lazyConnect: true, connectTimeout: timeoutMs };
  const probe = new Redis({ ...base, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  let lastError: unknown;
  probe.on('error', (e) => (lastError = e));
  let version: string;
  try {
    const info = await withTimeout(
      probe.connect().then(() => probe.info('server')),
      timeoutMs,
      () => new Error(lastError ? errorText(lastError) : 'no answer'),
    );
    version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
  } catch (e) {
    // The socket's own error (ECONNREFUSED, ENOTFOUND, WRONGPASS) says more than "Connection is closed".
    throw redisUnreachable(url, errorText(lastError ?? e), timeoutMs);
  } finally {
    probe.disconnect();
  }
  const major = Number(version.split('.')[0]);
  if (Number.isFinite(major) && major < MIN_REDIS_MAJOR) throw redisUnreachable(url, `Redis ${version} is older than ${MIN_REDIS_MAJOR}.0, which BullMQ needs`, timeoutMs);
  return { url: redactRedisUrl(url), address, version, timeoutMs };
}
