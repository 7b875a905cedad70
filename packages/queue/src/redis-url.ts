import { FarmerError } from '@farmer/core';

/** Where a Redis server is, as ioredis (and so BullMQ) takes it. */
export interface RedisAddress {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** rediss:// (TLS): ioredis's `tls` option, empty for the system's CAs. */
  tls?: Record<string, never>;
}

/**
 * The URL with its password replaced by `***`: what messages and logs may
 * show. A URL that does not parse is shown as `<unparsable Redis URL>`, since
 * it may hold a password in a place we cannot find.
 */
export function redactRedisUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '<unparsable Redis URL>';
  }
  if (u.password) u.password = '***';
  return u.toString();
}

/**
 * Parses `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` (or `rediss://` for
 * TLS). Port 6379 and database 0 by default. A malformed URL is
 * FARMER_E_BAD_INPUT (field `redis`), never echoing a password.
 */
export function parseRedisUrl(url: string): RedisAddress {
  const bad = (why: string): never => {
    throw new FarmerError('FARMER_E_BAD_INPUT', `--redis ${redactRedisUrl(url)}: ${why}; expected redis://[:PASSWORD@]HOST[:PORT][/DB], e.g. redis://127.0.0.1:6379`, { field: 'redis' });
  };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad('not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') bad(`the scheme must be redis: or rediss:, got ${u.protocol}`);
  if (!u.hostname) bad('no host');
  const port = u.port ? Number(u.port) : 6379;
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) bad(`the path must be a database number, got /${path}`);
  const db = path === '' ? 0 : Number(path);
  const address: RedisAddress = { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port, db };
  if (u.username) address.username = decodeURIComponent(u.username);
  if (u.password) address.password = decodeURIComponent(u.password);
  if (u.protocol === 'rediss:') address.tls = {};
  return address;
}
