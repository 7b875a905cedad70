#!/usr/bin/env node
import { FarmerError, USER_ERROR_CODES } from '@farmer/core';
import { parseServerArgs, serverUsage } from '@farmer/runtime';
import { startServer } from './server.js';

/** The server's own bin: parse flags (the same parser as `farmer serve`), start, stop gracefully on SIGINT/SIGTERM. */
async function main(): Promise<number> {
  const args = parseServerArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(serverUsage('farmer-server'));
    return 0;
  }
  const server = await startServer(args.options);
  const log = server.app.log;
  log.info({ url: server.url, models: server.models, docs: `${server.url}/docs` }, 'farmer-server ready');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'stopping: finishing in-flight requests');
      server.close().then(resolve, (e: unknown) => {
        log.error({ err: e }, 'error while stopping');
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const user = e instanceof FarmerError && USER_ERROR_CODES.has(e.code);
    process.stderr.write(`farmer-server: error: ${e instanceof Error ? e.message : String(e)}${e instanceof FarmerError ? ` [${e.code}]` : ''}\n`);
    if (!user && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exit(user ? 2 : 1);
  },
);
