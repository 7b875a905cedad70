import type { AddressInfo } from 'node:net';
import { FarmerError } from '@farmer/core';
import type { FastifyInstance } from 'fastify';
import { createApp } from './app.js';
import type { LoadReport } from './model-registry.js';
import type { ServerOptions } from './options.js';

/** {@link ServerOptions} plus where to listen. */
export interface StartServerOptions extends ServerOptions {
  /** TCP port (default 8080; 0 picks a free one). */
  port?: number;
  /** Interface to bind (default 127.0.0.1; 0.0.0.0 or :: to serve the network). */
  host?: string;
  /**
   * Resolve only once the models loaded (default true), and fail when none
   * could be. With false, resolve as soon as the port listens (/readyz says when ready).
   */
  waitForModels?: boolean;
}

/** A listening server. */
export interface RunningServer {
  readonly app: FastifyInstance;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The load report (undefined with waitForModels: false). */
  readonly models?: LoadReport;
  /** What the operator should know (also logged): e.g. listening beyond loopback without an API key. */
  readonly warnings: string[];
  /** Graceful stop: refuse new work, finish in-flight jobs, close. Idempotent. */
  close(): Promise<void>;
}

/** Hosts that only this machine can reach. */
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Starts the FARMER inference server: builds the app, binds its port (so a
 * port in use is reported before any model loads), then loads the models
 * and (by default) waits for them. Used by the server's bin, `farmer serve`
 * and the benches. Logs through pino at info unless `logger` says otherwise.
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const { port = 8080, host = '127.0.0.1', waitForModels = true, ...rest } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FarmerError('FARMER_E_BAD_CONFIG', `port must be an integer in [0, 65535], got ${port}`, { field: 'port' });
  const app = await createApp({ ...rest, logger: rest.logger ?? { level: 'info' } });
  try {
    await app.listen({ port, host });
  } catch (e) {
    await app.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new FarmerError('FARMER_E_BAD_CONFIG', `port ${port} on ${host} is in use; choose another with --port`, { field: 'port' }, { cause: e });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new FarmerError('FARMER_E_BAD_CONFIG', `cannot listen on host ${host}; check --host`, { field: 'host' }, { cause: e });
    throw e;
  }
  const address = app.server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= app.close());
  const warnings: string[] = [];
  if (!LOOPBACK.has(host) && !rest.apiKey) warnings.push(`listening on ${host} beyond loopback without --api-key: anyone who can reach this port can generate`);
  for (const w of warnings) app.log.warn({ host: address.address }, w);
  const loading = app.farmer.loadModels();
  let models: LoadReport | undefined;
  if (waitForModels) {
    models = await loading;
    if (!models.ready.length) {
      await close();
      const why = models.failed.map((f) => `  - ${f.name}: ${f.message}`).join('\n');
      throw new FarmerError(models.failed[0]?.code ?? 'FARMER_E_NOT_FOUND', `no model could be loaded:\n${why}`, { field: 'models', failed: models.failed });
    }
  }
  return { app, url: `http://${urlHost}:${address.port}`, host: address.address, port: address.port, models, warnings, close };
}
